"""The console calls the API's handlers in-process, so it bounds what it passes on itself: a page
or a day cityline cannot show is a page it can (before: 500s)."""


def test_a_page_number_past_the_limit_shows_the_last_page_allowed(city):
    _app, people = city
    found = people["operator"].get("/orders", params={"page": 9223372036854775807})
    assert found.status_code == 200


def test_a_day_without_a_day_before_it_shows_today(city):
    _app, people = city
    for day in ("0001-01-01", "9999-12-31"):
        assert people["analyst"].get("/situation", params={"day": day}).status_code == 200

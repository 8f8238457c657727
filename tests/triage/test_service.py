"""Model versions in the database, and training data read from the order store."""

from datetime import UTC, datetime

import pytest

from cityline.orders.models import Order
from cityline.triage import service
from cityline.triage.model import train
from tests.triage.conftest import examples


@pytest.fixture(scope="module")
def model():
    return train(examples(copies=2))


def test_without_a_model_the_shipped_seed_model_answers(session):
    assert service.list_versions(session) == []
    triager = service.active_triager(session)
    assert triager.model_version == "seed"
    assert triager is service.default_triager()  # learnt once per process
    assert triager.classify("隔壁的独居老人三天没开门了，敲门也没人应").model_version == "seed"
    with pytest.raises(service.NoModelError, match="no active triage model"):
        service.rollback(session)


def test_saving_makes_the_new_version_active(session, model):
    first = service.save_model(session, model, {"category": {"macro_f1": 0.5}})
    second = service.save_model(session, model, {"category": {"macro_f1": 0.6}})
    assert (first.version, second.version) == (1, 2)
    assert [row.is_active for row in service.list_versions(session)] == [False, True]
    assert second.created_at.tzinfo is not None
    triager = service.active_triager(session)
    assert triager.model_version == "model-2"
    assert service.active_triager(session) is triager  # parsed once per active version


def test_rollback_and_activate(session, model):
    for _ in range(3):
        service.save_model(session, model, {})
    assert service.rollback(session).version == 2
    assert service.active_triager(session).model_version == "model-2"
    assert service.rollback(session).version == 1
    with pytest.raises(service.NoModelError, match="model-1 is the oldest version"):
        service.rollback(session)
    assert service.activate(session, 3).is_active
    with pytest.raises(service.NoModelError, match="no triage model version 9; stored versions: 1, 2, 3"):
        service.activate(session, 9)


def test_versions_survive_the_transaction(factory, model):
    with factory() as session:
        service.save_model(session, model, {"n": 12})
        session.commit()
    with factory() as session:
        (row,) = service.list_versions(session)
        assert row.metrics == {"n": 12}
        assert row.trained_on == model.trained_on
        assert service.active_triager(session).classify("排队做核酸").model_version == "model-1"


def _order(number: int, text: str, source: str, **labels) -> Order:
    return Order(
        number=f"T{number:04d}", channel="phone", text=text, status="received",
        received_at=datetime(2022, 4, 1, 8, 0, tzinfo=UTC), triage_source=source, **labels,
    )


def test_training_records_are_the_orders_people_labelled(session):
    labels = {"kind": "help", "category": "EPI.SUPPLY", "urgency": "urgent", "special_groups": ["elderly"]}
    session.add_all([
        _order(1, "家里没菜了", "manual", **labels),
        _order(2, "老人没吃的了", "import", **labels),
        _order(3, "外婆断粮了", "corrected", **labels),
        _order(4, "模型猜的", "model", **labels),
        _order(5, "还没分类", "manual"),
    ])
    session.flush()
    records = service.training_records(session)
    assert [r.text for r in records] == ["家里没菜了", "老人没吃的了", "外婆断粮了"]
    assert records[0].special_groups == ("elderly",)
    assert records[0].category == "EPI.SUPPLY"

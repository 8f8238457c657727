"""Calibrated confidences and the lexicon's kind cues: small pure pieces, checked by hand."""

import pytest

from cityline.triage.calibration import FIELDS, SHIPPED, Calibration, fit_curve
from cityline.triage.lexicon import load_lexicon
from cityline.triage.rules import kind_cues, kind_probabilities, read_text

KINDS = ["praise", "suggestion", "report", "complaint", "help", "consult"]


def test_a_fitted_curve_rises_and_pools_bins_that_would_fall():
    raw = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    right = [False, True, False, False, True, True, True, True]
    curve = fit_curve(raw, right, bins=4)
    shares = [share for _, share in curve]
    assert shares == sorted(shares)
    # The second bin (0.3, 0.4: none right) would fall below the first (one of two): pooled.
    assert curve[0] == (0.25, 0.25)
    assert curve[-1] == (0.65, 1.0)  # the last two bins (all right) pooled: the curve never stalls
    assert len(curve) == 2


def test_a_calibration_interpolates_between_points_and_holds_its_ends():
    calibrated = Calibration({"kind": ((0.4, 0.6), (0.8, 0.9))})
    assert calibrated("kind", 0.6) == pytest.approx(0.75)
    assert calibrated("kind", 0.1) == 0.6
    assert calibrated("kind", 0.99) == 0.9
    assert calibrated("category", 0.33) == 0.33  # no curve: the raw confidence


def test_the_shipped_curves_rise_for_every_field():
    for field in FIELDS:
        curve = SHIPPED.curves[field]
        assert [x for x, _ in curve] == sorted(x for x, _ in curve)
        assert [y for _, y in curve] == sorted(y for _, y in curve)


@pytest.mark.parametrize(
    ("text", "cues", "leaning"),
    [
        ("对面那家饭店封控期间偷偷营业，晚上一屋子人喝酒", {"someone_else", "rule_breaking"}, "report"),
        ("我想举报出租车司机，他多收了我两百块还不给退我", {"own_loss"}, "complaint"),
        ("口罩能不能以后放到居委去代卖，药店门口队太长了", {"proposal"}, "suggestion"),
        ("我不是投诉，就是问问物业费一年涨了多少", {"just_asking"}, "consult"),
        # Written for issue 20's second look: outsiders' words for the three rarer kinds.
        ("我三月底半夜羊水破了，是小区的大白用担架把我抬出去的，现在母子平安，谢谢他们", {"thanks_only!"}, "praise"),
        ("谢谢你们上次帮忙，不过现在楼道灯又坏了，麻烦再派人来修一下", {"gratitude", "new_matter"}, "help"),
        ("楼道灯坏了一个礼拜了，晚上黑漆漆的，麻烦派人来修一下，谢谢！", set(), "help"),
        ("有个摊主的秤动过手脚，专挑老年人坑，你们去查查", {"tip_off!"}, "report"),
        ("菜场门口的红绿灯太短了，老年人走不过去，要是能调长一点就好了", {"proposal!", "public"}, "suggestion"),
    ],
)
def test_kind_cues_follow_the_guidelines_order_of_rules(text, cues, leaning):
    lexicon = load_lexicon()
    assert cues <= kind_cues(text, lexicon)
    if not cues:  # a polite closing is not thanks
        assert "gratitude" not in kind_cues(text, lexicon)
    chances = kind_probabilities(read_text(text, lexicon), "GEN.OTHER", KINDS)
    assert max(chances, key=chances.__getitem__) == leaning

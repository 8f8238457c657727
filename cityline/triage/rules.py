"""Pure triage rules: what the lexicon words in one order say about each field.

Values in, values out: a text and a compiled lexicon give scores per label,
with the words behind each score; the decisions below turn scores into
probabilities the classifier can blend with a trained model. They follow the
labelling guidelines: kinds are decided in a fixed order of precedence
(praise, suggestion, report, complaint, help, consult) and urgency depends on
the danger words, the category and the kind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from itertools import chain

from cityline.triage.lexicon import Hit, Lexicon

NEGATED_TOPIC = -0.3  # "不是问核酸的": the word counts a little against its label
FOCUS = 1.6  # "是问健康码…": what the caller came for
_CLAUSE_END = re.compile(r"[，,。；;！!？?\n]|但是|不过|可是|\bbut\b")
_LISTED_AFTER = re.compile(r"[、和或跟及与/ ]?|\s*(?:,|and|or)\s*")
# Words that tie a person to the caller anywhere in the text: thanks from a caller who names
# no one of their own are for help given to someone else.
_PERSONAL = re.compile(
    r"我家|我们家|家里|家中|屋里|我[妈爸儿女孩老外奶爷婆公是]|阿拉[屋姆爸]|姆妈|阿爸|本人|自己|来电人系|其[父母子女妻夫]"
    r"|\b(?:my|our|mon|ma|mes|notre|mein|meine|unser|mi|mis|nuestro)\b|私の|제|우리|мо[йяеи]"
)
_QUESTION = re.compile(r"[？?吗呢伐]|怎么|如何|能否|可否|是否|哪里|多久|几天")
KIND_PRECEDENCE = ("praise", "suggestion", "report", "complaint")
KIND_BY_CATEGORY = {  # the kind an order of this category usually is, when no word says
    "EPI.VIOLATION": "report",
    "EPI.SUPPLY": "help",
    "EPI.MEDICAL": "help",
    "EPI.MENTAL": "help",
    "GEN.ENVIRONMENT": "complaint",  # a nuisance someone causes
    "GEN.SAFETY": "help",
}
STRANDING_CATEGORIES = {
    "EPI.SUPPLY", "EPI.MEDICAL", "EPI.ACCESS", "EPI.SITE",
    "GEN.SAFETY", "GEN.UTILITIES", "GEN.WELFARE",
}
# A person's own medical need outweighs the gate in the way (labelling rule for EPI.ACCESS).
MEDICAL_OVER_ACCESS = 3.0
ACTION_KINDS = {"help", "complaint", "report"}


@dataclass(frozen=True)
class FieldScores:
    scores: dict[str, float]
    evidence: dict[str, list[str]]

    def top(self) -> tuple[str | None, float]:
        if not self.scores:
            return None, 0.0
        label = max(self.scores, key=self.scores.__getitem__)
        return label, self.scores[label]


@dataclass(frozen=True)
class Reading:
    """What the lexicon found in one order."""

    fields: dict[str, FieldScores]
    epidemic_context: bool
    question: bool
    age_groups: frozenset[str] = frozenset()  # groups an explicit age puts someone in
    # Per group heard: "subject" (tied to the caller: 我家老人, 其女儿), "unclear" (a bare
    # word: 老人, 孩子), "other" (someone else's household: 邻居家老人) or "mention" (named in
    # passing: 很多老人, 我儿子帮我…); the best per group.
    group_roles: dict[str, str] = field(default_factory=dict)
    personal: bool = True  # the text ties someone to the caller (我家, 我妈, 其女儿)
    kind_cues: frozenset[str] = frozenset()  # the lexicon's [kind_cues] heard: who breaks rules, whose loss


def read_text(text: str, lexicon: Lexicon) -> Reading:
    lowered = text.lower()
    clause_ends = [match.start() for match in _CLAUSE_END.finditer(lowered)] + [len(lowered)]
    scopes, epidemic = _cue_scopes(lowered, lexicon, clause_ends)
    fields = {}
    roles: dict[str, str] = {}
    for name, matcher in lexicon.matchers.items():
        check_absence = name in ("urgency", "special_group")
        hits = matcher.find(lowered)
        if name == "special_group" and hits:
            hits, roles = group_roles(lowered, hits, clause_ends)
        fields[name] = _score_hits(hits, scopes, lowered, lexicon if check_absence else None)
    return Reading(
        fields, epidemic, bool(_QUESTION.search(lowered)), frozenset(ages_say(lowered)), roles,
        bool(_PERSONAL.search(lowered)), kind_cues(lowered, lexicon),
    )


def kind_cues(lowered: str, lexicon: Lexicon) -> frozenset[str]:
    """The lexicon's kind cues heard in the text ([kind_cues] in lexicon.toml), and what they
    mean together by the guidelines' order of kinds (names ending in "!"): thanks with no new
    matter is praise; a proposal about people in general, or with no loss of the caller's own,
    is a suggestion; someone else breaking rules with no loss of the caller's own is a tip-off.
    The combinations are model features too: a linear model cannot form "and" itself."""
    ending = len(lowered.rstrip(" 。.！!～~"))
    heard = set()
    for hit in lexicon.kind_cues.find(lowered):
        cue = hit.votes[0][0]
        if cue == "polite_closing":
            if hit.end >= ending:
                continue  # "…请尽快处理，谢谢": the request decides
            cue = "gratitude"
        heard.add(cue)
    own_loss = "own_loss" in heard
    if "gratitude" in heard and "new_matter" not in heard:
        heard.add("thanks_only!")
    if "proposal" in heard and ("public" in heard or not own_loss):
        heard.add("proposal!")
    if "someone_else" in heard and "rule_breaking" in heard and not own_loss:
        heard.add("tip_off!")
    return frozenset(heard)


def _cue_scopes(lowered: str, lexicon: Lexicon, clause_ends: list[int]):
    """Spans (start, end, factor) set by negation and focus cues, and whether the epidemic is named."""
    scopes: list[tuple[int, int, float]] = []
    epidemic = False
    for cue in lexicon.cues.find(lowered):
        kind = cue.votes[0][0]
        if kind == "epidemic":
            epidemic = True
            continue
        end = next(position for position in clause_ends if position >= cue.end)
        factor = NEGATED_TOPIC if kind == "topic_negation" else FOCUS
        scopes.append((cue.start, end, factor))
    # A focus cue inside a negated clause ("不是问X，而是Y" without a comma) ends the negation.
    trimmed = []
    for start, end, factor in scopes:
        if factor == NEGATED_TOPIC:
            later_focus = [s for s, _, f in scopes if f == FOCUS and start < s < end]
            end = min(later_focus, default=end)
        trimmed.append((start, end, factor))
    return trimmed, epidemic


def _score_hits(hits: list[Hit], scopes, lowered: str, lexicon: Lexicon | None) -> FieldScores:
    parts: dict[str, list[float]] = {}
    scores: dict[str, float] = {}
    evidence: dict[str, list[str]] = {}
    absent_until = -1
    if not hits:
        return FieldScores(scores, evidence)
    for hit in hits:
        factor = 1.0
        for start, end, scope_factor in scopes:  # usually none
            if start <= hit.start < end:
                factor = scope_factor
        if lexicon is not None and (
            lexicon.absence_pattern.search(lowered[max(0, hit.start - 12) : hit.start])
            or (absent_until >= 0 and _LISTED_AFTER.fullmatch(lowered[absent_until : hit.start]))
        ):
            # "没有发烧", "no fever", "没有老人小孩": the word is named as absent.
            absent_until = hit.end
            continue
        for label, weight in hit.votes:
            parts.setdefault(label, []).append(weight * factor)
            if factor > 0:
                words = evidence.setdefault(label, [])
                if hit.word not in words:
                    words.append(hit.word)
    for label, values in parts.items():
        scores[label] = _combined(values)
    return FieldScores(scores, evidence)


def _combined(values: list[float]) -> float:
    """The sum of a label's word weights; on equal sums, the label with the strongest
    single word wins ("no food" against "compound" + "locked down")."""
    return sum(values) + 0.05 * max(values)


def category_probabilities(reading: Reading, categories: list[str]) -> dict[str, float]:
    scores = dict(reading.fields["category"].scores)
    for code in list(scores):
        is_epidemic = code.startswith("EPI.")
        if reading.epidemic_context and not is_epidemic:
            scores[code] *= 0.6
        elif not reading.epidemic_context and not is_epidemic:
            scores[code] *= 1.25
    medical = scores.get("EPI.MEDICAL", 0.0)
    if medical >= MEDICAL_OVER_ACCESS and scores.get("EPI.ACCESS", 0.0) > medical:
        scores["EPI.MEDICAL"] = scores["EPI.ACCESS"] + 0.5
    if not any(value > 0 for value in scores.values()):
        scores = {"GEN.OTHER": 0.5}
    return _distribution(scores, categories)


def kind_probabilities(reading: Reading, category: str, kinds: list[str]) -> dict[str, float]:
    scores = {label: max(value, 0.0) for label, value in reading.fields["kind"].scores.items()}
    prior = KIND_BY_CATEGORY.get(category)
    if prior:
        scores[prior] = scores.get(prior, 0.0) + 1.0
    if reading.question:
        scores["consult"] = scores.get("consult", 0.0) + 0.8
    cues = reading.kind_cues
    if "tip_off!" in cues:
        scores["report"] = scores.get("report", 0.0) + 1.5  # a tip-off, not a redress
    elif "own_loss" in cues and scores.get("report", 0.0) > 0:
        scores["complaint"] = scores.get("complaint", 0.0) + 1.5  # "신고하고 싶어요" about one's own fare
    if "proposal!" in cues:
        scores["suggestion"] = scores.get("suggestion", 0.0) + 1.5
    if "just_asking" in cues:
        scores["consult"] = scores.get("consult", 0.0) + 2.0
    thanks_only = "thanks_only!" in cues
    if thanks_only:
        # A solved problem told to say who solved it is praise (the guidelines' first rule).
        scores["praise"] = scores.get("praise", 0.0) + 1.5
    if reading.fields["urgency"].scores.get("urgent", 0.0) >= 3.0 and not thanks_only:
        # In an emergency the caller needs someone to act; blame is not the point.
        scores["help"] = scores.get("help", 0.0) + 3.0
    for kind in KIND_PRECEDENCE:  # the first kind that clearly fits wins
        if scores.get(kind, 0.0) >= 3.0:
            scores[kind] += 2.0
            break
    if not any(value > 0 for value in scores.values()):
        scores = {"consult": 0.8}
    return _distribution(scores, kinds)


def urgency_probabilities(
    reading: Reading, category: str, kind: str, groups: list[str]
) -> dict[str, float]:
    """Urgent on danger words (more readily when a special-group member is affected); else by category and kind."""
    words = reading.fields["urgency"].scores
    danger = max(words.get("urgent", 0.0), 0.0)
    if danger > 0 and groups and category in STRANDING_CATEGORIES:
        # A special-group member in trouble (alone, all the more) is stranded.
        danger += 1.0 + min(words.get("alone", 0.0), 1.5)
    if kind == "help" and danger >= 1.5:
        danger += 0.5  # someone asks for action and names a danger: when in doubt, urgent
    if kind in ("praise", "suggestion"):
        danger *= 0.4  # thanks for help in an emergency that is over
    p_urgent = 1.0 / (1.0 + math.exp(-1.6 * (danger - 2.4)))
    deadline = reading.fields["urgency"].scores.get("sub_urgent", 0.0) > 0
    if not category.startswith("EPI.") or kind in ("praise", "suggestion"):
        p_sub = 0.1
    elif kind in ACTION_KINDS or deadline:
        p_sub = 0.85  # acting on a current problem, or a question with a near deadline
    else:
        p_sub = 0.3
    rest = 1.0 - p_urgent
    return {"urgent": p_urgent, "sub_urgent": rest * p_sub, "normal": rest * (1.0 - p_sub)}


# Danger that is over ("现在人没事了", "已经安排好了") or only imagined ("万一着火"):
# the guidelines' urgent is a threat *now*. Measured by cross-validation on the
# shipped history (triage/README.md): these cut false urgents without losing one.
_SETTLED = re.compile(
    r"现在(?:人)?(?:没事|好了|已经好)|已经(?:没事|好了|解决|安排好|处理好)|幸好|幸亏|好在"
    r"|后来[^，。,.]{0,8}(?:好了|解决)|no longer|is fine now|was fixed"
)
_HYPOTHETICAL = re.compile(r"万一|如果|要是|假如|一旦|以防|in case|what if")


def urgency_discount(lowered: str, kind: str) -> float:
    """How much of the blended chance of urgent to keep, given what the text says of time.

    Praise and suggestions are normal unless they also raise an urgent matter;
    a danger that is over, or imagined by someone not asking for help, is less
    likely to be one now.
    """
    keep = 0.35 if kind in ("praise", "suggestion") else 1.0
    if _SETTLED.search(lowered):
        keep *= 0.5
    if kind != "help" and _HYPOTHETICAL.search(lowered):
        keep *= 0.6
    return keep


# ------------------------------------------------------------------ who a group word is about
# The guidelines label a group only for the person the order is about (the caller or the
# person called for), never for one named in passing. Each group word is read with the
# words around it in its clause; the rules are ordered: an agent or a generic word makes it
# a mention, a tie to the caller makes it the subject, anything else is unclear (decided by
# the kind of order in ``group_probabilities``).
MENTION = 0.15  # what a group word named in passing still counts
# Before the word, in its clause: a tie to the caller ("我家", "我女儿", "其父亲", "阿拉屋里",
# "我是…的一名", "来电人系").
_TIED_BEFORE = re.compile(
    r"(?:(?:我|本人|来电人|其)(?:是|系)[^，。,.!?！？]{0,8}"
    r"|(?:我(?!们)|我们家|自家|家里|家中|屋里|本人|自己|阿拉(?=屋|姆妈|爸|娘|囡|儿子|女儿|老|外|阿)"
    r"|其(?!他|它|余|实|中)|(?<![其吉])他(?!们|人)|她(?!们)|伊)[^，。,.!?！？]{0,4})$"
)
# Just before the word: many or some of a kind, people somewhere, a comparison ("很多老人",
# "楼里的老人", "比亲儿子还亲", "尤其是老人") ...
_GENERIC_BEFORE = re.compile(
    r"(?:很多|好多|许多|一些|有些|有的|不少|大部分|大多|一大半|多户|几户|好几户|好几个|几个|那些|这些|其他|别的"
    r"|广大|所有|全体|各位|一般|楼里|楼上的|小区里|小区的|村里|社区里|社区的|路上|车上|街上|附近|周围|公园里"
    r"|尤其是|特别是|比如|像|比|对于|针对|专门给|给那些|\b(?:many|lots of|a lot of|most|other|all the|especially))"
    r"[^，。,.!?！？]{0,2}$"
)
# ... unless one particular person is meant ("小区里有个小孩被卡住了", "楼里一个坐轮椅的老人").
_ONE_PERSON_BEFORE = re.compile(r"(?:有个|一个|一位|有位|一名|这个|那个|这位|那位|对门|隔壁)[^，。,.!?！？]{0,3}$")
# Just before the word: someone else's household ("邻居家老人", "楼上人家的小孩"): the person an
# order is about only when the caller asks help for them, not in a complaint or tip-off.
_OTHERS_BEFORE = re.compile(r"(?:邻居家?|隔壁(?:人家|家)?|楼上(?:人家|家)?|楼下(?:人家|家)?|对门|对面(?:人家)?|别人家|人家)的?$")
# Right before the word, untied: people of a kind are there ("下面还有小孩在玩").
_THERE_ARE_BEFORE = re.compile(r"(?:还|都|也)?有$")
# After the word: a plural or a generic statement ("老人们", "小区里老人多", "小孩都从这里走").
_GENERIC_AFTER = re.compile(r"们|多(?=[，。,.!?！？的又也]|$)|居多|比较多|较多|占|等|(?:也)?都(?![没不快已要在发烧病])")
# After the word: someone acting for the caller or away, not the person in need
# ("我儿子帮我在网上预约的", "小囡在国外也帮不上忙", "女儿告诉我").
_AGENT_AFTER = re.compile(
    r"(?:也|都|就|还|已经|平时|一般)?(?:帮我|帮忙|替我|代我|陪我|给我(?:打|发|买|订|约|挂|弄|下单|预约)|告诉我"
    r"|打电话|打来电话|发消息|发微信|在国外|在外地|不在身边|不在上海|帮不上|上班|工作了|开车)"
    r"|\s+(?:helped me|booked|told me|called me|said|lives abroad|is abroad|hat mir|m'a aidé|me ayudó)"
)
# A school as a landmark ("学校旁边那个工地") says nothing of a child.
_PLACES = frozenset({"学校", "小学", "幼儿园", "school", "école", "schule", "escuela"})
_BESIDE_AFTER = re.compile(r"的?(?:旁边|门口|附近|对面|边上|周边|那边|后面)|\s*(?:next door|nearby)")
# Words that name a kind of person rather than one ("老年人更看不懂", "儿童口罩"); with "我们"
# before them the caller counts themself in ("阿拉老年人过马路…").
_GENERIC_WORDS = frozenset({"老年人", "儿童", "残疾人", "old people", "elderly people", "children"})
_WE_BEFORE = re.compile(r"(?:我们|咱们|阿拉|我伲)$")
# A pregnant or new mother's baby-to-be ("会不会对宝宝有影响"): the pregnancy is the group.
_UNBORN_BEFORE = re.compile(r"(?:对|影响|伤到|伤害|肚子里的?|腹中的?)$")
_UNBORN = frozenset({"宝宝", "孩子", "小孩", "娃", "baby", "胎儿"})
STRANGER_GROUPS = ("elderly", "child", "disabled")  # groups a passer-by is seen to be in
_ROLE_RANK = {"mention": 0, "other": 1, "unclear": 2, "subject": 3}


def group_roles(lowered: str, hits: list[Hit], clause_ends: list[int]) -> tuple[list[Hit], dict[str, str]]:
    """Each group word's role, and the hits with a mention's votes scaled down to ``MENTION``."""
    roles: dict[str, str] = {}
    kept = []
    for hit in hits:
        role = _group_role(lowered, hit, clause_ends)
        if role == "mention":
            hit = hit._replace(votes=tuple((label, weight * MENTION) for label, weight in hit.votes))
        kept.append(hit)
        for label, _ in hit.votes:
            roles[label] = max(roles.get(label, role), role, key=_ROLE_RANK.__getitem__)
    return kept, roles


def _group_role(lowered: str, hit: Hit, clause_ends: list[int]) -> str:
    clause_start = max((end + 1 for end in clause_ends if end < hit.start), default=0)
    before = lowered[max(clause_start, hit.start - 8) : hit.start]
    after = lowered[hit.end : hit.end + 8]
    if _AGENT_AFTER.match(after) or (hit.word in _PLACES and _BESIDE_AFTER.match(after)):
        return "mention"
    if _GENERIC_BEFORE.search(before) and not _ONE_PERSON_BEFORE.search(before):
        return "mention"
    if hit.word in _UNBORN and _UNBORN_BEFORE.search(before):
        return "mention"
    if _TIED_BEFORE.search(before):
        return "subject"
    if _OTHERS_BEFORE.search(before):
        return "other"
    if _THERE_ARE_BEFORE.search(before) or _GENERIC_AFTER.match(after):
        return "mention"
    if hit.word in _GENERIC_WORDS:
        return "unclear" if _WE_BEFORE.search(before) else "mention"
    return "unclear"


_AGE = re.compile(r"(?<!\d)(\d{1,3})\s*(?:岁|周岁|多岁|了|多了|years? old|ans|jahre|años|歳|세|лет)")
_AGE_THIS_YEAR = re.compile(r"今年(?:已经)?\s*(\d{2,3})(?![\d年月号日])")  # "我爸今年79"
_AGE_IN_WORDS = re.compile(r"[六七八九]十[一二三四五六七八九多几]?(?:岁|周岁|了|出头)|满[六七八九]十|[六七八九]旬|[七八九][八九]十岁")
_YOUNG = re.compile(
    r"(?:才|刚|只有|儿子|女儿|孩子|小孩|宝宝|fils de|fille de|son is|daughter is|sohn ist|hijo de)\s*"
    r"(?:\d{1,2}|[一二三四五六七八九十]{1,2})\s*(?:岁|周岁|ans|years?|jahre|años|个月)|(?<!\d)\d{1,2}\s*个月大"
)
_AGE_NUMERAL = re.compile(r"[\d一二三四五六七八九十]")  # in every one of the patterns above


def ages_say(lowered: str) -> set[str]:
    """Groups an explicit age puts someone in: 60 or more is elderly, a small child is a child."""
    found: set[str] = set()
    if not _AGE_NUMERAL.search(lowered):  # no digit, no numeral: no age (half the texts)
        return found
    if _AGE_IN_WORDS.search(lowered):
        found.add("elderly")
    for match in chain(_AGE.finditer(lowered), _AGE_THIS_YEAR.finditer(lowered)):
        age = int(match.group(1))
        if 60 <= age <= 115:
            found.add("elderly")
    if _YOUNG.search(lowered):
        found.add("child")
    return found


def group_probabilities(
    reading: Reading, language: str, groups: list[str], kind: str = "help"
) -> dict[str, float]:
    scores = dict(reading.fields["special_group"].scores)
    untied_strangers = kind == "praise" and not reading.personal
    if kind in ("suggestion", "report") or untied_strangers:
        # A suggestion or tip-off about "老人" in general names no one, nor thanks for help
        # given to a stranger (an old man helped onto a bus): only a person tied to the caller
        # (我家老人, 我女儿) or given an age is the order's. Thanks for a delivery or a dialysis
        # are the caller's own even when they do not say so.
        for group, role in reading.group_roles.items():
            if untied_strangers and group not in STRANGER_GROUPS:
                continue
            if role != "subject" and group not in reading.age_groups:
                scores.pop(group, None)
    elif kind == "complaint":
        # A neighbour's old father who keeps the stairs full of boxes is not the one wronged.
        for group, role in reading.group_roles.items():
            if role == "other" and group not in reading.age_groups:
                scores.pop(group, None)
    for group in reading.age_groups:
        scores[group] = scores.get(group, 0.0) + 3.0
    probabilities = {
        group: 1.0 / (1.0 + math.exp(-2.0 * (scores.get(group, 0.0) - 1.2))) for group in groups
    }
    if language != "zh" and "foreigner" in probabilities:
        # Every caller writing in a foreign language is taken as a foreign national.
        probabilities["foreigner"] = max(probabilities["foreigner"], 0.95)
    return probabilities


def _distribution(scores: dict[str, float], labels: list[str]) -> dict[str, float]:
    weights = {label: math.exp(min(value, 30.0)) for label, value in scores.items() if value > 0 and label in labels}
    # Labels without a word share a small mass, so one weak word is not a certainty.
    total = sum(weights.values()) + math.e
    found = dict.fromkeys(labels, math.e / total / max(len(labels) - len(weights), 1))
    for label, weight in weights.items():  # in the labels' order still: fromkeys set it
        found[label] = weight / total
    return found

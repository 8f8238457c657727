"""Special groups go to the person an order is about, not to everyone it mentions.

A probe list written from eval/GUIDELINES.md ("special_groups"), not an evaluation set:
each line pairs a group word named in passing with one naming the caller or the person
called for, and is labelled strictly by the guidelines.
"""

import pytest

from cityline.triage.classifier import Triager
from cityline.triage.history import SHIPPED_VERSION, shipped_model
from cityline.triage.lexicon import load_lexicon
from cityline.triage.rules import read_text

# (text, group, whether the order is about a member of that group)
PROBES = [
    ("我儿子帮我在网上预约的核酸，到现在结果还没出来", "child", False),
    ("我今年七十五了，我儿子帮我在网上预约的，到了现场说要出示健康码", "elderly", True),
    ("我今年七十五了，我儿子帮我在网上预约的，到了现场说要出示健康码", "child", False),
    ("我女儿告诉我说今天社区在发抗原，请问在哪里领？", "child", False),
    ("建议地铁站多装几部无障碍电梯，推轮椅的人要绕很远", "disabled", False),
    ("小区里老人多，建议物业在每个楼道里装扶手", "elderly", False),
    ("老年人更看不懂这些通知，建议以后字印大一点", "elderly", False),
    ("我们楼里好多老年人都没打疫苗，建议搞个上门接种", "elderly", False),
    ("我不是学生家长，就是想问问学校旁边那个工地晚上几点停工", "child", False),
    ("邻居家老人天天在楼道里堆纸板箱，消防通道都堵住了，说了也不听", "elderly", False),
    ("楼下一直有小孩在踢球，吵得我午觉都睡不着", "child", False),
    ("家里没有老人也没有小孩，就是想问一下什么时候解封", "elderly", False),
    ("我老婆不是孕妇，就是发烧了，想问问能不能去发热门诊", "pregnant", False),
    ("表扬公交司机，看到一位老人上车慢，一直等他坐稳了才开车", "elderly", False),
    ("我家老人九十多了，一直没打成疫苗，能不能派人上门打？", "elderly", True),
    ("隔壁独居老人两天没开门了，电话也不接，麻烦派人去看看", "elderly", True),
    ("我怀孕32周了，小区封着出不去，产检一直约不上", "pregnant", True),
    ("我女儿才三岁，烧到39度，小区门口不让出去", "child", True),
    ("我爸七十八了，降压药只剩两天的了，能不能帮忙配一下", "elderly", True),
    ("我是坐轮椅的，楼里电梯坏了一个礼拜，下不了楼", "disabled", True),
    ("我妈尿毒症，明天要透析，小区封着出不去", "serious_illness", True),
    ("阿拉姆妈八十三岁，一个人住，封了十几天屋里没菜了", "elderly", True),
    ("My son booked the test for me online, but the result never showed up.", "child", False),
    ("Many elderly people in our compound cannot use the app, please print the notices.", "elderly", False),
]


@pytest.fixture(scope="module")
def triager() -> Triager:
    return Triager(model=shipped_model(), model_version=SHIPPED_VERSION)


@pytest.mark.parametrize(("text", "group", "about"), PROBES)
def test_a_group_is_labelled_only_for_the_person_the_order_is_about(triager, text, group, about):
    assert (group in triager.classify(text).special_groups) is about


@pytest.mark.parametrize(
    ("text", "group", "role"),
    [
        ("我儿子帮我在网上预约的", "child", "mention"),
        ("小区里老人多", "elderly", "mention"),
        ("老年人们都不会用", "elderly", "mention"),
        ("我家老人九十多了", "elderly", "subject"),
        ("其女儿今年上小学", "child", "subject"),
        ("邻居家老人天天堆东西", "elderly", "other"),
        ("小区里有个小孩被卡住了", "child", "unclear"),
    ],
)
def test_each_group_word_is_read_in_its_clause(text, group, role):
    assert read_text(text, load_lexicon()).group_roles[group] == role

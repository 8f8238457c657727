"""Terms and problem discovery on hand-written calls (not the simulator's phrasing)."""

from __future__ import annotations

from collections import Counter

from cityline.analytics.discover import discover
from cityline.analytics.text import terms


def test_terms_drop_the_write_up_frame_and_the_orders_own_place():
    text = "市民来电反映：其在徐汇区虹梅路街道药店排队数小时购买口罩。诉求：希望有关部门管一管。"
    found = terms(text, ("徐汇区", "虹梅路街道"))
    assert {"药店", "排队", "口罩"} <= set(found)
    assert not {"市民", "来电", "反映", "诉求", "希望", "徐汇区", "虹梅路", "街道"} & set(found)
    assert len(found) == len(set(found))


def test_terms_read_english_and_full_width_text():
    assert terms("Masks SOLD OUT at the pharmacy, please help") == ["mask", "sold", "out", "pharmacy", "help"]
    assert "口罩" in terms("ｎ９５口罩")
    assert terms("") == [] and terms(None) == []


# Calls as people really phrase them: three mask problems, each said many ways.
QUEUES = [
    "早上六点去药店排队买口罩，排到九点说没了",
    "药店门口排了两百多人，大家挤在一起等口罩，太危险了",
    "排队买口罩的队伍一直排到马路上，没人维持秩序",
    "老人天不亮就去排队，站几个小时就为了五个口罩",
    "能不能别让大家排队了，人挤人更容易传染",
    "我妈排了一上午队，轮到她口罩卖光了",
    "药店排长队，队伍里好多人没戴口罩",
    "排队买口罩的人太多了，建议改成预约",
    "口罩每天限量，凌晨就有人排队，秩序很乱",
    "楼下药店排队的人一直排到小区门口",
]
FAKES = [
    "网上买的口罩是假的，没有熔喷布",
    "药店卖的口罩没有生产日期和厂家，三无产品",
    "买的N95口罩一看就是假货，包装都印错了",
    "口罩质量太差，一戴绳子就断，怀疑是假的",
    "路边摊卖的口罩没有合格证，肯定是三无的",
    "快递到的口罩有股怪味，外包装没有厂家信息",
    "买到假口罩了，商家还不给退，要举报",
    "医用口罩是假冒的，批号查不到",
    "小店里卖的口罩是散装的，三无产品",
    "口罩一拉就破，质量这么差还卖五块钱一个，假货",
]
PRICES = [
    "一包口罩卖到一百块，这是哄抬物价",
    "药店口罩涨价涨了十倍，太黑心了",
    "酒精消毒液价格翻了好几倍，要求查处",
    "一个普通口罩卖十块钱，价格太离谱",
    "超市口罩价格一天一个价，哄抬价格",
    "口罩平时一块钱，现在卖八块，物价局管不管",
    "消毒液涨价到一百多一瓶，趁疫情发财",
    "口罩价格贵得离谱，举报这家店哄抬物价",
]


# Everyday complaints as callers put them: each problem has its usual words (噪音, 停水,
# 垃圾), never the same sentence twice.
NOISE = [
    "楼上装修噪音太大，天天电钻，早上七点就开始",
    "工地晚上十一点还在施工打桩，噪音吵得孩子睡不着",
    "小区广场舞音响噪音太大，每天晚上吵到十点",
    "隔壁饭店排风机噪音很大，半夜都不停",
    "夜里施工噪音扰民，打了好几次电话没人管",
    "楼下KTV唱歌太吵了，凌晨两点还有噪音",
    "马路对面工地夜间施工，噪音太大没法休息",
    "装修电锯噪音从早到晚，老人受不了",
]
WATER = [
    "我们小区停水一整天了，也没提前通知",
    "家里自来水是黄的，有异味，不敢喝",
    "自来水水压太低，楼上根本用不了水",
    "停水到现在还没恢复，做饭洗澡都没办法",
    "水管爆了停水，楼道里都是水，物业不来修",
    "自来水有一股漂白粉的味道，颜色发黄",
    "突然停水，打自来水公司电话一直占线",
    "早上起来停水了，问物业说是水管维修",
]
RUBBISH = [
    "小区门口垃圾堆了三天没人清运，臭得很",
    "垃圾桶满了溢出来，垃圾到处都是，苍蝇老鼠多",
    "路边有人乱倒建筑垃圾，堆成小山没人清运",
    "垃圾分类投放点太远，老人扔垃圾不方便",
    "垃圾房旁边污水横流，垃圾臭气熏天",
    "河边被人倒了好多生活垃圾，没人清理",
    "垃圾清运车每天凌晨来，垃圾撒一地",
    "楼道里堆满了杂物和垃圾，有火灾隐患",
]


def _purity_and_best(found, labels):
    best = {}
    for group in found:
        counts = Counter(labels[i] for i in group.members)
        top, hits = counts.most_common(1)[0]
        best[top] = max(best.get(top, (0, 0.0)), (hits, hits / len(group.members)))
    return best


def test_discovery_splits_hand_written_topics():
    texts = NOISE + WATER + RUBBISH
    labels = ["noise"] * len(NOISE) + ["water"] * len(WATER) + ["rubbish"] * len(RUBBISH)
    found = discover([terms(t) for t in texts])
    best = _purity_and_best(found, labels)
    assert set(best) == {"noise", "water", "rubbish"}, [g.keywords for g in found]
    for label, (hits, purity) in best.items():
        assert hits >= 5 and purity >= 0.8, (label, hits, purity)


def test_discovery_keeps_hand_written_mask_queues_apart():
    """The acceptance example in callers' own words: queuing for masks, apart from fakes and prices."""
    texts = QUEUES + FAKES + PRICES
    labels = ["queue"] * len(QUEUES) + ["fake"] * len(FAKES) + ["price"] * len(PRICES)
    found = discover([terms(t) for t in texts])
    queue = max(found, key=lambda g: sum(labels[i] == "queue" for i in g.members))
    hits = sum(labels[i] == "queue" for i in queue.members)
    assert hits >= 8 and hits / len(queue.members) >= 0.8, (queue.keywords, queue.members)
    assert "排队" in queue.keywords
    assert all(labels[i] == "queue" for i in queue.representatives)
    others = [g for g in found if g is not queue]
    assert others and all(sum(labels[i] == "queue" for i in g.members) <= 1 for g in others)


def test_discovery_on_too_little_says_nothing():
    assert discover([]) == []
    assert discover([["口罩"], ["口罩"], ["口罩"]]) == []
    assert discover([["口罩"]] * 20) == []  # one word everywhere separates nothing


def test_discovery_is_deterministic():
    docs = [terms(t) for t in QUEUES + FAKES + PRICES]
    first = discover(docs)
    assert first == discover(docs)

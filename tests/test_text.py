"""cityline.text: one shared segmenter (built once, safe across threads), a package's own
words kept whole without changing anyone else's cut, and one list of fillers."""

from concurrent.futures import ThreadPoolExecutor

import rjieba

from cityline import text
from cityline.text import FILLERS, QUESTION_WORDS, Words, cut, cut_for_search, segmenter

SENTENCES = ["市民来电反映药店门口排队买口罩人太多", "我的见康码变黄了咋办", "小区封控了买不到菜，家里老人要配药",
             "核酸检测结果什么时候出来", "楼上装修噪声很大，希望有关部门处理"] * 20


def test_one_segmenter_built_once_even_when_threads_ask_at_the_same_time(monkeypatch):
    built = []

    class Counting(rjieba.Jieba):
        def __new__(cls):
            built.append(1)
            return super().__new__(cls)

    monkeypatch.setattr(text, "_segmenter", None)
    monkeypatch.setattr(text.rjieba, "Jieba", Counting)
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: segmenter(), range(16)))
    assert len(built) == 1 and all(s is found[0] for s in found)


def test_threads_cutting_together_get_what_one_thread_gets():
    keep = Words(["见康码", "配药", "封控"])
    alone = [cut(s, keep) for s in SENTENCES]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda s: cut(s, keep), SENTENCES))
    assert together == alone


def test_without_own_words_it_is_jiebas_dictionary_alone():
    plain = rjieba.Jieba()
    for sentence in SENTENCES[:5]:
        assert cut(sentence) == plain.cut(sentence, False)
        assert cut_for_search(sentence) == plain.cut_for_search(sentence, False)


def test_own_words_are_kept_whole_and_do_not_change_anyone_elses_cut():
    keep = Words(["见康码", "封控"])
    assert "见康码" in cut("我的见康码变黄了", keep)
    assert "见康码" not in cut("我的见康码变黄了")  # the shared dictionary was not taught the word
    assert "见康码" not in cut("我的见康码变黄了", Words(["口罩"]))


def test_overlapping_own_words_follow_the_plain_cut_then_length_then_the_right():
    assert cut("怎么知道口罩是正规的", Words(["道口", "口罩"]))[:3] == ["怎么", "知道", "口罩"]
    assert cut("要去隔离点吗", Words(["去隔离", "隔离点"])) == ["要", "去", "隔离点", "吗"]
    assert cut("核酸检测结果", Words(["核酸", "核酸检测"])) == ["核酸检测", "结果"]


def test_search_mode_gives_the_known_parts_of_a_kept_word_too():
    words = cut_for_search("做核酸检测要排队吗", Words(["核酸检测"]))
    assert {"核酸", "检测", "核酸检测"} <= set(words)
    assert words.index("核酸检测") > words.index("检测")  # parts first, as jieba's search mode


def test_one_filler_list_and_question_words_apart_from_it():
    assert {"市民", "来电", "反映", "您好", "的", "然后", "the"} <= FILLERS
    assert {"怎么办", "哪里", "多久", "when"} <= QUESTION_WORDS
    assert not FILLERS & QUESTION_WORDS
    assert not {"口罩", "核酸", "隔离", "健康码"} & (FILLERS | QUESTION_WORDS)


def test_fingerprint_names_the_code_and_the_dictionary():
    assert text.fingerprint() == text.fingerprint() and len(text.fingerprint()) == 16

"""helpers.seq2seq_experiments and the training pieces of helpers.seq2seq the two translation
chapters stand on: the split by number, the exact match computed under teacher forcing, the
schedule whose first epochs a chapter can rerun, the GNMT penalty, stored weights, the tables."""

import numpy as np
import pytest
import torch

from helpers.attention import AdditiveAttention, AlteredAttention, DotProductAttention
from helpers.seq2seq import (
    Decoder,
    Encoder,
    Seq2Seq,
    exact_match,
    make_translation_loader,
    sequence_exact_match,
    train_translation,
    translate,
)
from helpers.seq2seq_experiments import (
    TASK,
    decode_state,
    encode_state,
    join_outputs,
    length_table,
    number_task,
    number_translator,
    reverse_words,
    split_outputs,
)
from helpers.text import IGNORE_INDEX, Vocab, shared_groups

PAIRS = [
    ("one", "1"),
    ("twenty one", "21"),
    ("two", "2"),
    ("one hundred and five", "105"),
    ("twenty two", "22"),
    ("five", "5"),
    ("one hundred and twenty", "120"),
    ("two hundred", "200"),
    ("one hundred", "100"),
    ("twenty", "20"),
]
SOURCE = Vocab([s for s, _ in PAIRS], level="word")
TARGET = Vocab([t for _, t in PAIRS], level="char")


def small_model(attention="additive", seed=0, dtype=torch.float32):
    torch.manual_seed(seed)
    attend = {
        "none": None,
        "additive": AdditiveAttention(8, 8, 6, dtype=dtype),
        "dot": DotProductAttention(),
    }[attention]
    return Seq2Seq(
        Encoder(len(SOURCE), 4, 8, dtype=dtype),
        Decoder(len(TARGET), 4, 8, attention=attend, dtype=dtype),
        bos_id=TARGET.bos_id,
        eos_id=TARGET.eos_id,
    )


# --- the chapters' task: split by number


@pytest.fixture(scope="module")
def task():
    return number_task()


def test_the_chapters_task_is_split_by_number_with_every_language_of_a_number_in_one_split(task):
    splits, _, _ = task
    # the leakage criterion: no number (the digits of a pair) in two splits ...
    assert shared_groups(splits, lambda pair: pair[1]) == {}
    # ... so no source text either, and each held-out number comes in all four languages
    assert shared_groups(splits, lambda pair: pair[0]) == {}
    for name in ("validation", "test"):
        numbers = {}
        for _, digits in splits[name]:
            numbers[digits] = numbers.get(digits, 0) + 1
        assert set(numbers.values()) == {len(TASK["languages"])}
    assert len(splits["validation"]) > 2000 and len(splits["test"]) > 2000


def test_languages_of_names_the_language_each_source_is_written_in(task):
    from helpers.number_words import number_in_words
    from helpers.seq2seq_experiments import languages_of

    splits, _, _ = task
    for name in ("train", "validation", "test"):
        languages = languages_of(name)
        assert len(languages) == len(splits[name])
        for (source, digits), language in list(zip(splits[name], languages))[::97]:
            assert number_in_words(int(digits), language) == source


def test_the_task_is_cached_and_refuses_unknown_settings(task):
    assert number_task() is task
    with pytest.raises(ValueError, match="unknown task settings"):
        number_task(digits=3)


def test_the_vocabularies_come_from_training_and_cover_the_held_out_words(task):
    splits, source_vocab, target_vocab = task
    held_out_words = {
        w for name in ("validation", "test") for s, _ in splits[name] for w in s.split()
    }
    assert held_out_words <= set(source_vocab.itos)
    assert set("0123456789") <= set(target_vocab.itos)


@pytest.mark.parametrize("attention", [None, "additive", "dot", "general"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_number_translator_builds_the_model_asked_for(task, attention, bidirectional):
    _, source_vocab, target_vocab = task
    model = number_translator(
        source_vocab,
        target_vocab,
        attention=attention,
        bidirectional=bidirectional,
        dtype=torch.float64,
    )
    assert model.encoder.bidirectional is bidirectional
    assert (model.decoder.attention is None) == (attention is None)
    assert next(model.parameters()).dtype == torch.float64
    with pytest.raises(ValueError, match="attention must be one of"):
        number_translator(source_vocab, target_vocab, attention="bahdanau")


# --- exact match under teacher forcing is greedy decoding's exact match


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("attention", ["none", "additive", "dot"])
def test_teacher_forced_sequence_exact_match_is_greedy_exact_match(attention, seed):
    model = small_model(attention, seed, dtype=torch.float64)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
    loader = make_translation_loader(PAIRS, SOURCE, TARGET, batch_size=5, shuffle=True, seed=seed)
    # part-trained, so that some pairs are right and some wrong
    for _ in range(seed * 4 + 4):
        for batch, targets in loader:
            loss = torch.nn.functional.cross_entropy(
                model(batch).transpose(1, 2), targets, ignore_index=IGNORE_INDEX
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    batch, targets = next(
        iter(make_translation_loader(PAIRS, SOURCE, TARGET, batch_size=len(PAIRS), shuffle=False))
    )
    with torch.no_grad():
        teacher_forced = sequence_exact_match(model(batch), targets).item()
    greedy = exact_match(
        translate(model, [s for s, _ in PAIRS], SOURCE, TARGET, max_length=6), [t for _, t in PAIRS]
    )
    assert teacher_forced == pytest.approx(greedy)


def test_sequence_exact_match_needs_every_real_token_right():
    logits = torch.full((2, 3, 4), -5.0)
    targets = torch.tensor([[1, 2, IGNORE_INDEX], [3, 3, 3]])
    for n, row in enumerate([[1, 2, 0], [3, 0, 3]]):
        for t, k in enumerate(row):
            logits[n, t, k] = 5.0
    assert sequence_exact_match(logits, targets).item() == 0.5
    with pytest.raises(ValueError, match="logits must be"):
        sequence_exact_match(logits, targets[:, :2])


# --- the training recipe


def test_the_exponential_schedule_makes_a_short_run_the_start_of_a_long_one():
    runs = []
    for epochs in (2, 5):
        model = small_model("additive")
        history = train_translation(
            model,
            PAIRS,
            SOURCE,
            TARGET,
            epochs=epochs,
            batch_size=4,
            max_lr=0.01,
            schedule="exponential",
            decay=0.5,
            seed=3,
            val_pairs=PAIRS[:4],
            progress=False,
        )
        runs.append(history)
    for column in ("train_loss", "val_loss", "val_exact_match"):
        assert runs[0][column] == runs[1][column][:2]
    # while the one-cycle schedule's first epochs depend on the whole budget
    one_cycle = [
        train_translation(
            small_model("additive"),
            PAIRS,
            SOURCE,
            TARGET,
            epochs=epochs,
            batch_size=4,
            seed=3,
            progress=False,
        )["train_loss"]
        for epochs in (2, 5)
    ]
    assert one_cycle[0] != one_cycle[1][:2]


def test_the_exponential_schedule_multiplies_the_rate_by_decay_per_epoch():
    model = small_model("none")
    captured = []
    original = torch.optim.Adam.step

    def spy(self, *args, **kwargs):
        captured.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    torch.optim.Adam.step = spy
    try:
        train_translation(
            model,
            PAIRS,
            SOURCE,
            TARGET,
            epochs=3,
            batch_size=5,
            max_lr=0.01,
            schedule="exponential",
            decay=0.5,
            seed=0,
            progress=False,
        )
    finally:
        torch.optim.Adam.step = original
    steps = 2  # 10 pairs in batches of 5
    assert captured[0] == pytest.approx(0.01)
    assert captured[steps] == pytest.approx(0.005)
    assert captured[2 * steps] == pytest.approx(0.0025)


def test_early_stopping_on_validation_exact_match_keeps_the_best_epoch():
    from helpers.training import EarlyStopping

    model = small_model("additive")
    history = train_translation(
        model,
        PAIRS,
        SOURCE,
        TARGET,
        epochs=60,
        batch_size=4,
        max_lr=0.02,
        schedule="exponential",
        decay=0.95,
        seed=0,
        val_pairs=PAIRS,
        progress=False,
        early_stopping=EarlyStopping(patience=3, monitor="val_exact_match", mode="max"),
    )
    best = history.best_epoch
    assert history["val_exact_match"][best - 1] == max(history["val_exact_match"])
    kept = exact_match(
        translate(model, [s for s, _ in PAIRS], SOURCE, TARGET, max_length=6), [t for _, t in PAIRS]
    )
    assert kept == pytest.approx(max(history["val_exact_match"]))


@pytest.mark.parametrize(
    "changes, error, words",
    [
        ({"schedule": "cosine"}, ValueError, "schedule must be one of"),
        ({"decay": 0.0}, ValueError, "decay must be a number in"),
        ({"decay": 1.5}, ValueError, "decay must be a number in"),
    ],
)
def test_train_translation_rejects_bad_schedules(changes, error, words):
    arguments = {"epochs": 1, "schedule": "exponential", "progress": False, **changes}
    with pytest.raises(error, match=words):
        train_translation(small_model(), PAIRS, SOURCE, TARGET, **arguments)


# --- attention with its weights replaced


def attention_inputs(seed=0):
    generator = torch.Generator().manual_seed(seed)
    queries = torch.randn(3, 2, 8, generator=generator, dtype=torch.float64)
    keys = torch.randn(3, 5, 8, generator=generator, dtype=torch.float64)
    values = torch.randn(3, 5, 4, generator=generator, dtype=torch.float64)
    return queries, keys, values, torch.tensor([5, 2, 3])


def test_altered_attention_original_changes_nothing():
    attention = AdditiveAttention(8, 8, 6, dtype=torch.float64)
    inputs = attention_inputs()
    for a, b in zip(AlteredAttention(attention, "original")(*inputs), attention(*inputs)):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_uniform_attention_reads_the_mean_of_the_valid_values():
    queries, keys, values, lengths = attention_inputs()
    context, weights = AlteredAttention(DotProductAttention(), "uniform")(
        queries, keys, values, lengths
    )
    for n, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(context[n], values[n, :length].mean(0).expand(2, -1))
        assert torch.all(weights[n, :, length:] == 0)


@pytest.mark.parametrize("seed", range(3))
def test_permuted_attention_shuffles_each_rows_weights_among_its_valid_positions(seed):
    attention = AdditiveAttention(8, 8, 6, dtype=torch.float64)
    queries, keys, values, lengths = attention_inputs(seed)
    _, original = attention(queries, keys, values, lengths)
    context, permuted = AlteredAttention(attention, "permute", seed=seed)(
        queries, keys, values, lengths
    )
    for n, length in enumerate(lengths.tolist()):
        for q in range(2):
            assert sorted(permuted[n, q, :length].tolist()) == sorted(
                original[n, q, :length].tolist()
            )
            assert torch.all(permuted[n, q, length:] == 0)
    torch.testing.assert_close(context, torch.bmm(permuted, values))
    assert not torch.equal(permuted, original)


def test_altered_attention_in_a_decoder_passes_the_prepared_keys_and_changes_outputs():
    model = small_model("additive", dtype=torch.float64).eval()
    sources = [s for s, _ in PAIRS]
    plain = translate(model, sources, SOURCE, TARGET, max_length=6)
    inner = model.decoder.attention
    model.decoder.attention = AlteredAttention(inner, "original")
    assert translate(model, sources, SOURCE, TARGET, max_length=6) == plain
    model.decoder.attention = inner
    with pytest.raises(ValueError, match="mode must be one of"):
        AlteredAttention(inner, "shuffle")
    with pytest.raises(TypeError, match="attention must be an attention module"):
        AlteredAttention(lambda *a: a, "uniform")


# --- storage and tables


def test_stored_weights_come_back_exactly():
    model = small_model("additive")
    other = small_model("additive", seed=1)
    other.load_state_dict(decode_state(encode_state(model)))
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), name
    with pytest.raises(TypeError, match="state must be"):
        decode_state([1, 2])


def test_outputs_join_and_split_back_including_empty_ones():
    outputs = ["12", "", "9000", "7"]
    assert split_outputs(join_outputs(outputs)) == outputs
    assert split_outputs(join_outputs([])) == []
    with pytest.raises(ValueError, match="without spaces"):
        join_outputs(["1 2"])


def test_reverse_words_reverses_sources_only():
    assert reverse_words([("one hundred and five", "105")]) == [("five and hundred one", "105")]


def test_length_table_counts_and_scores_each_source_and_target_length():
    sources = ["a b", "a b", "a b c", "a", "a b c"]
    references = ["12", "34", "12", "5", "123"]
    predictions = ["12", "00", "12", "5", "123"]
    rows, columns, accuracy, counts = length_table(sources, predictions, references, min_count=1)
    assert rows == [1, 2, 3] and columns == [1, 2, 3]
    np.testing.assert_array_equal(counts, [[1, 0, 0], [0, 2, 0], [0, 1, 1]])
    assert accuracy[1, 1] == 0.5 and accuracy[2, 1] == 1.0
    assert np.isnan(accuracy[0, 1])  # an empty cell
    _, _, sparse, _ = length_table(sources, predictions, references, min_count=2)
    assert np.isnan(sparse[2, 1]) and sparse[1, 1] == 0.5
    with pytest.raises(ValueError, match="one length"):
        length_table(sources, predictions[:2], references)


def test_greedy_with_maps_gives_each_source_its_own_output_and_map(task):
    from helpers.seq2seq_experiments import greedy_with_maps, sources_of

    _, source_vocab, target_vocab = task
    torch.manual_seed(0)
    model = number_translator(
        source_vocab, target_vocab, attention="additive", bidirectional=True
    ).eval()
    sources = sources_of("validation")[:7]
    outputs, maps = greedy_with_maps(model, sources, batch_size=3)
    texts = translate(model, sources, source_vocab, target_vocab, max_length=12)
    for source, output, weights, text in zip(sources, outputs, maps, texts):
        assert weights.shape == (len(output), len(source.split()))
        torch.testing.assert_close(weights.sum(1), torch.ones(len(output)))
        assert target_vocab.decode([target_vocab.stoi[t] for t in output]) == text
    with pytest.raises(ValueError, match="must have attention"):
        greedy_with_maps(number_translator(source_vocab, target_vocab), sources)


# --- the committed artefacts of the two chapters


def test_the_encoder_bottleneck_artefact_is_what_its_script_says():
    from helpers.artefacts import load_artefact
    from helpers.seq2seq_experiments import TRAINING, references_of

    artefact = load_artefact("encoder_bottleneck")
    assert artefact["settings"]["training"] == TRAINING
    runs = artefact["runs"]
    grid = [run for run in runs if run["role"] == "grid"]
    assert [run["learning_rate"] for run in grid] == artefact["settings"]["learning_rates"]
    # the learning rate chosen is the best on validation, and only its model saw the test split
    best = max(grid, key=lambda run: max(run["val_exact_match"]))
    assert best["chosen"] and sum(run["chosen"] for run in grid) == 1
    assert artefact["summary"]["chosen_learning_rate"] == best["learning_rate"]
    assert all("test" not in run["outputs"] for run in grid if not run["chosen"])
    finals = [best] + [run for run in runs if run["role"] == "final"]
    assert sorted(run["seed"] for run in finals) == [0, 1, 2]
    references = references_of("validation")
    for run in runs:
        # the kept epoch is the best one, and the stored outputs score what the curve says
        assert run["val_exact_match"][run["best_epoch"] - 1] == max(run["val_exact_match"])
        outputs = split_outputs(run["outputs"]["validation"])
        if not run.get("reverse_source"):
            assert exact_match(outputs, references) == pytest.approx(
                max(run["val_exact_match"]), abs=2e-3
            )
        assert run["stopped_early"] or run["epochs"] == run.get(
            "max_epochs", TRAINING["max_epochs"]
        )


def test_the_attention_comparison_artefact_pairs_each_seed_with_both_models():
    from helpers.artefacts import load_artefact
    from helpers.seq2seq_experiments import TRAINING

    artefact = load_artefact("attention_comparison")
    assert artefact["settings"]["training"] == TRAINING
    # the learning rate is the one the encoder-decoder chapter chose on validation
    chosen = load_artefact("encoder_bottleneck")["summary"]["chosen_learning_rate"]
    assert artefact["settings"]["learning_rate"] == chosen
    assert all(run["learning_rate"] == chosen for run in artefact["runs"])
    pairs = sorted((run["seed"], run["attention"] or "") for run in artefact["runs"])
    assert pairs == [(seed, name) for seed in (0, 1, 2) for name in ("", "additive")]
    assert all(run["bidirectional"] for run in artefact["runs"])
    assert [run["seed"] for run in artefact["runs"] if "weights" in run] == [0]


@pytest.mark.parametrize(
    "name, role", [("encoder_bottleneck", "grid"), ("attention_comparison", None)]
)
def test_stored_weights_give_the_stored_validation_outputs(name, role):
    from helpers.artefacts import load_artefact
    from helpers.seq2seq_experiments import load_translator, translate_split

    torch.set_num_threads(1)
    (run,) = [run for run in load_artefact(name)["runs"] if "weights" in run]
    outputs = translate_split(load_translator(run), "validation")
    stored = split_outputs(run["outputs"]["validation"])
    assert np.mean([a == b for a, b in zip(outputs, stored)]) >= 0.999

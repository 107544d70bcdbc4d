"""helpers.language_model: the shift, padding, n-gram baselines, perplexity, sampling, training.

Every expected value is computed independently in the test (by hand on a
tiny corpus, by running each sequence alone, by a greedy decoder that
recomputes the whole prefix), never copied from a run.
"""

import math
from fractions import Fraction

import pytest
import torch
from torch.nn import functional as F

from helpers.language_model import (
    CharLanguageModel,
    NgramModel,
    language_model_dataset,
    perplexity,
    sample,
)
from helpers.text import IGNORE_INDEX, Vocab, make_sequence_loader, sequence_loss
from helpers.training import train

NAMES = ["smith", "li", "johnson", "ng", "garcia", "o", "williamson", "lee"]


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def vocab():
    return Vocab(NAMES)


def small_model(vocab, unit="GRU", implementation="torch", seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return CharLanguageModel(
        len(vocab),
        unit=unit,
        embedding_dim=5,
        hidden_size=7,
        implementation=implementation,
        dtype=dtype,
    )


# --------------------------------------------------------------------------- the dataset


def test_targets_are_the_inputs_shifted_by_one_step(vocab):
    dataset = language_model_dataset(NAMES, vocab)
    assert len(dataset) == len(NAMES)
    for name, (x, y) in zip(NAMES, dataset):
        assert len(x) == len(y) == len(name) + 1
        assert x[0] == vocab.bos_id and y[-1] == vocab.eos_id
        assert torch.equal(x[1:], y[:-1])
        assert [vocab.itos[i] for i in x[1:].tolist()] == list(name)
        assert vocab.decode(y) == name


def test_dataset_rejects_bad_inputs(vocab):
    with pytest.raises(TypeError, match="vocab must be a helpers.text.Vocab"):
        language_model_dataset(NAMES, {"a": 1})
    with pytest.raises(TypeError, match="texts must be a list of strings"):
        language_model_dataset("smith", vocab)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        language_model_dataset(["smith", 3], vocab)


# --------------------------------------------------------------------------- padding


@pytest.mark.parametrize("unit", ["GRU", "LSTM"])
@pytest.mark.parametrize("implementation", ["torch", "scratch"])
def test_a_padded_batch_gives_each_sequence_its_own_outputs_and_loss(vocab, unit, implementation):
    model = small_model(vocab, unit, implementation)
    loader = make_sequence_loader(
        language_model_dataset(NAMES, vocab),
        pad_id=vocab.pad_id,
        batch_size=len(NAMES),
        shuffle=False,
    )
    batch, targets = next(iter(loader))
    assert int(batch.lengths.min()) < batch.tokens.shape[1]  # there is padding to ignore
    with torch.no_grad():
        logits = model(batch)
        per_name = F.cross_entropy(
            logits.transpose(1, 2), targets, ignore_index=IGNORE_INDEX, reduction="none"
        ).sum(dim=1)
        total, count = 0.0, 0
        for n, (x, y) in enumerate(language_model_dataset(NAMES, vocab)):
            alone = model(x[None])[0]
            assert (alone - logits[n, : len(x)]).abs().max() < 1e-6
            loss_alone = F.cross_entropy(alone, y, reduction="sum")
            assert abs(loss_alone - per_name[n]) < 1e-6
            total, count = total + loss_alone.item(), count + len(y)
        # the batch loss is the mean over predicted characters, not over names
        assert abs(sequence_loss(logits, targets).item() - total / count) < 1e-6


# --------------------------------------------------------------------------- n-gram models


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("alpha", [0.01, 1.0])
def test_ngram_probabilities_of_every_context_sum_to_one(vocab, n, alpha):
    model = NgramModel(n, vocab, alpha=alpha).fit(NAMES)
    seen = {gram[:-1] for gram in model.counts}
    letters = sorted(set("".join(NAMES)))
    unseen = {(a,) * (n - 1) for a in letters} - seen  # ("w", "w"), ...: never counted
    assert unseen or n < 3
    for context in seen | unseen:
        total = sum(model.probability(context, token) for token in model.outcomes)
        assert abs(total - 1) < 1e-12


def test_ngram_perplexity_on_a_tiny_corpus_by_hand():
    vocab = Vocab(["ab", "b"])  # outcomes a, b, <eos>: K = 3
    model = NgramModel(2, vocab, alpha=0.5).fit(["ab", "b"])
    # contexts: <bos> -> a 1, b 1; a -> b 1; b -> <eos> 2
    # "ba": P(b | <bos>) = 1.5 / 3.5, P(a | b) = 0.5 / 3.5, P(<eos> | a) = 0.5 / 2.5
    product = Fraction(3, 7) * Fraction(1, 7) * Fraction(1, 5)
    assert abs(model.perplexity(["ba"]) - float(product) ** (-1 / 3)) < 1e-12
    unigram = NgramModel(1, vocab, alpha=1.0).fit(["ab", "b"])
    # counts a 1, b 2, <eos> 2 of 5: P = (count + 1) / 8
    product = Fraction(3, 8) * Fraction(2, 8) * Fraction(3, 8)  # b, a, <eos>
    assert abs(unigram.perplexity(["ba"]) - float(product) ** (-1 / 3)) < 1e-12


def test_ngram_perplexity_matches_a_direct_count(vocab):
    train_names, held_out = NAMES[:5], ["lim", "sonia", "ee"]
    n, alpha = 3, 0.2
    model = NgramModel(n, vocab, alpha=alpha).fit(train_names)
    outcomes = sorted(set("".join(NAMES))) + ["<eos>"]
    counts, context_counts = {}, {}
    for name in train_names:
        padded = ["<bos>"] * (n - 1) + list(name) + ["<eos>"]
        for end in range(n - 1, len(padded)):
            context = tuple(padded[end - n + 1 : end])
            counts[context, padded[end]] = counts.get((context, padded[end]), 0) + 1
            context_counts[context] = context_counts.get(context, 0) + 1
    log_sum, tokens = 0.0, 0
    for name in held_out:
        padded = ["<bos>"] * (n - 1) + list(name) + ["<eos>"]
        for end in range(n - 1, len(padded)):
            context = tuple(padded[end - n + 1 : end])
            log_sum += math.log(
                (counts.get((context, padded[end]), 0) + alpha)
                / (context_counts.get(context, 0) + alpha * len(outcomes))
            )
            tokens += 1
    assert len(model.outcomes) == len(outcomes)
    assert abs(model.perplexity(held_out) - math.exp(-log_sum / tokens)) < 1e-10
    assert model.nll(held_out)[1] == tokens


def test_ngram_uniform_limit_has_perplexity_K(vocab):
    K = len(set("".join(NAMES))) + 1
    uniform = NgramModel(1, vocab, alpha=math.inf)
    assert abs(uniform.perplexity(NAMES) - K) < 1e-9
    for n in (1, 3):
        model = NgramModel(n, vocab, alpha=1e12).fit(NAMES)
        assert abs(model.perplexity(NAMES) / K - 1) < 1e-6
        model.alpha = 0.01  # counting matters again: better than uniform on its own names
        assert model.perplexity(NAMES) < 0.9 * K


def test_ngram_rejects_bad_inputs(vocab):
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        NgramModel(0, vocab)
    with pytest.raises(TypeError, match="vocab must be a helpers.text.Vocab"):
        NgramModel(2, ["a", "b"])
    with pytest.raises(ValueError, match="level='char'"):
        NgramModel(2, Vocab(["a b"], level="word"))
    for alpha in (0, -1.0, math.nan):
        with pytest.raises(ValueError, match="alpha"):
            NgramModel(2, vocab, alpha=alpha)
    for alpha in ("1", True, None):
        with pytest.raises(TypeError, match="alpha"):
            NgramModel(2, vocab, alpha=alpha)
    model = NgramModel(2, vocab).fit(NAMES)
    with pytest.raises(ValueError, match="alpha"):
        model.alpha = 0
    with pytest.raises(ValueError, match=r"texts\[1\] = 'zz' holds \['z'\]"):
        model.perplexity(["li", "zz"])
    with pytest.raises(ValueError, match="holds"):
        model.fit(["Smith"])
    with pytest.raises(ValueError, match="context must be a tuple of n - 1 = 1"):
        model.probability(("s", "m"), "i")
    with pytest.raises(ValueError, match="context must hold"):
        model.probability(("z",), "i")
    with pytest.raises(ValueError, match="token must be one of the"):
        model.probability(("s",), "<bos>")
    with pytest.raises(TypeError, match="texts must be a list of strings"):
        model.perplexity("smith")


# --------------------------------------------------------------------------- perplexity


def test_perplexity_is_exp_of_the_mean_loss_per_character(vocab):
    model = small_model(vocab)
    dataset = language_model_dataset(NAMES, vocab)
    with torch.no_grad():
        losses = [F.cross_entropy(model(x[None])[0], y, reduction="sum").item() for x, y in dataset]
    tokens = sum(len(name) + 1 for name in NAMES)
    direct = math.exp(sum(losses) / tokens)
    for batch_size in (1, 3, len(NAMES)):
        loader = make_sequence_loader(
            dataset, pad_id=vocab.pad_id, batch_size=batch_size, shuffle=False
        )
        scores = perplexity(model, loader)
        assert scores["tokens"] == tokens
        assert abs(scores["perplexity"] / direct - 1) < 1e-12
        assert abs(scores["nll"] - sum(losses) / tokens) < 1e-12
    # not the mean over names: that would weigh "o" as much as "williamson"
    per_name = math.exp(
        sum(loss / (len(name) + 1) for loss, name in zip(losses, NAMES)) / len(NAMES)
    )
    assert abs(per_name - direct) > 1e-3


def test_perplexity_rejects_bad_inputs(vocab):
    loader = make_sequence_loader(
        language_model_dataset(NAMES, vocab), pad_id=vocab.pad_id, batch_size=4, shuffle=False
    )
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        perplexity(lambda batch: batch, loader)
    with pytest.raises(ValueError, match="no target tokens"):
        perplexity(small_model(vocab), [])


def test_model_rejects_bad_inputs(vocab):
    model = small_model(vocab)
    with pytest.raises(ValueError, match=r"shape \(N, T\)"):
        model(torch.tensor([2, 5, 6]))
    with pytest.raises(TypeError, match="integer ids"):
        model(torch.zeros(2, 3))
    with pytest.raises(ValueError, match=f"ids 0 .. {len(vocab) - 1}"):
        model(torch.tensor([[2, len(vocab)]]))
    with pytest.raises(ValueError, match="vocab_size must be an int >= 2"):
        CharLanguageModel(1)
    with pytest.raises(ValueError, match="unit"):
        CharLanguageModel(10, unit="Transformer")


# --------------------------------------------------------------------------- sampling


def greedy(model, vocab, max_length):
    """The most likely name, recomputing the whole prefix at every step (no carried state)."""
    ids = [vocab.bos_id]
    with torch.no_grad():
        for _ in range(max_length + 1):
            scores = model(torch.tensor([ids]))[0, -1].clone()
            scores[[vocab.pad_id, vocab.unk_id, vocab.bos_id]] = -math.inf
            best = int(scores.argmax())
            if best == vocab.eos_id:
                break
            ids.append(best)
    return vocab.decode(ids[1 : max_length + 1])


def test_sample_is_deterministic_for_a_seed_and_draws_names(vocab):
    model = small_model(vocab, dtype=torch.float32)
    first = sample(model, vocab, num_samples=20, seed=3)
    assert first == sample(model, vocab, num_samples=20, seed=3)
    assert first != sample(model, vocab, num_samples=20, seed=4)
    assert len(first) == 20 and all(isinstance(name, str) for name in first)
    letters = set("".join(NAMES))
    assert all(set(name) <= letters for name in first)  # no <pad>, <unk> or <bos>


def test_sample_respects_max_length(vocab):
    model = small_model(vocab, dtype=torch.float32)
    with torch.no_grad():  # make <eos> unlikely, so that names run on
        model.read_out.bias[vocab.eos_id] = -10.0
    drawn = sample(model, vocab, num_samples=30, max_length=4, temperature=2.0, seed=0)
    assert all(len(name) <= 4 for name in drawn)
    assert sum(len(name) == 4 for name in drawn) > 20


@pytest.mark.parametrize("implementation", ["torch", "scratch"])
def test_a_tiny_temperature_gives_the_argmax_path(vocab, implementation):
    for seed in range(3):
        model = small_model(vocab, implementation=implementation, seed=seed)
        expected = greedy(model, vocab, max_length=8)
        assert (
            sample(model, vocab, num_samples=4, temperature=1e-6, max_length=8, seed=seed)
            == [expected] * 4
        )


def test_sample_rejects_bad_inputs(vocab):
    model = small_model(vocab)
    with pytest.raises(TypeError, match="model must be a CharLanguageModel"):
        sample(torch.nn.GRU(3, 4), vocab)
    with pytest.raises(ValueError, match="vocab has 5 tokens but the model scores"):
        sample(model, Vocab(["a"]))
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        sample(model, vocab, temperature=0)
    with pytest.raises(ValueError, match="num_samples must be an int >= 1"):
        sample(model, vocab, num_samples=0)
    with pytest.raises(ValueError, match="max_length must be an int >= 1"):
        sample(model, vocab, max_length=0)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32\), got int -1"):
        sample(model, vocab, seed=-1)


# --------------------------------------------------------------------------- training


def test_a_short_training_run_lowers_the_perplexity():
    from helpers.corpora import census_names
    from helpers.text import split_items

    names = [name for name, _ in census_names("last")[:400]]
    splits = split_items(names, seed=0)
    vocab = Vocab(splits["train"])
    datasets = {
        split: language_model_dataset([n for n in items if set(n) <= set(vocab.itos)], vocab)
        for split, items in splits.items()
    }
    model = small_model(vocab, dtype=torch.float32)
    train_loader = make_sequence_loader(
        datasets["train"], pad_id=vocab.pad_id, batch_size=32, shuffle=True, seed=0
    )
    val_loader = make_sequence_loader(
        datasets["validation"], pad_id=vocab.pad_id, batch_size=64, shuffle=False
    )
    before = perplexity(model, val_loader)["perplexity"]
    history = train(
        model,
        train_loader,
        sequence_loss,
        epochs=2,
        optimizer=torch.optim.Adam(model.parameters(), lr=3e-2),
        progress=False,
    )
    after = perplexity(model, val_loader)["perplexity"]
    assert len(history.step_loss) == 2 * len(train_loader)
    assert history.step_loss[-1] < history.step_loss[0]
    assert after < 0.8 * before


# --------------------------------------------------------------------------- dropout and the sweep's function


def test_dropout_zero_changes_nothing_and_dropout_is_off_in_evaluation(vocab):
    plain = small_model(vocab, dtype=torch.float32)
    torch.manual_seed(0)
    zero = CharLanguageModel(len(vocab), embedding_dim=5, hidden_size=7, dropout=0.0)
    assert all(
        torch.equal(a, b) for a, b in zip(plain.state_dict().values(), zero.state_dict().values())
    )
    torch.manual_seed(0)
    dropped = CharLanguageModel(len(vocab), embedding_dim=5, hidden_size=7, dropout=0.5)
    x = torch.tensor([vocab.encode("smith", add_bos=True)])
    dropped.train()
    assert not torch.equal(dropped(x), plain(x))  # masks drawn in training mode
    dropped.eval()
    assert torch.equal(dropped(x), plain.eval()(x))  # and none in evaluation
    for p in (-0.1, 1.0, True):
        with pytest.raises(ValueError, match="dropout"):
            CharLanguageModel(10, dropout=p)


@pytest.fixture(scope="module")
def small_splits():
    from helpers.text import split_items

    return split_items(
        NAMES * 1 + [name + "s" for name in NAMES] + [name + "a" for name in NAMES], seed=0
    )


def test_train_surname_model_repeats_itself_and_scratch_follows_torch(small_splits):
    from helpers.language_model import train_surname_model

    kwargs = dict(
        seed=1,
        hidden_size=8,
        embedding_dim=4,
        batch_size=4,
        max_steps=4,
        splits=small_splits,
        dropout=0.1,
    )
    _, first = train_surname_model(**kwargs)
    _, again = train_surname_model(**kwargs)
    _, scratch = train_surname_model(**kwargs, implementation="scratch")
    assert first == {**again, "seconds_per_epoch": first["seconds_per_epoch"]}
    assert len(first["step_loss"]) == 4 and first["epochs_run"] == 1
    assert max(abs(a - b) for a, b in zip(first["step_loss"], scratch["step_loss"])) < 1e-5
    _, other_seed = train_surname_model(**{**kwargs, "seed": 2})
    assert other_seed["step_loss"] != first["step_loss"]


def test_train_surname_model_stops_early_and_keeps_the_best_epoch(small_splits):
    from helpers.language_model import train_surname_model

    model, record = train_surname_model(
        seed=0,
        hidden_size=8,
        embedding_dim=4,
        batch_size=4,
        learning_rate=0.05,
        max_epochs=30,
        patience=2,
        splits=small_splits,
        score_test=True,
    )
    assert record["stopped_early"] and record["epochs_run"] == record["best_epoch"] + 2
    assert record["val_loss"][record["best_epoch"] - 1] == min(record["val_loss"])
    vocab = Vocab(small_splits["train"])
    loader = make_sequence_loader(
        language_model_dataset(small_splits["validation"], vocab),
        pad_id=vocab.pad_id,
        batch_size=3,
        shuffle=False,
    )
    # the model returned is the best epoch's: its validation perplexity is the recorded one
    assert perplexity(model, loader)["perplexity"] == pytest.approx(
        record["val_perplexity"], rel=1e-6
    )
    assert record["test_perplexity"] > 1


def test_stored_weights_come_back_exactly(small_splits):
    from helpers.language_model import encode_state_dict, load_surname_model, train_surname_model

    model, record = train_surname_model(
        seed=0,
        hidden_size=8,
        embedding_dim=4,
        batch_size=4,
        max_steps=3,
        splits=small_splits,
        dropout=0.25,
    )
    artefact = {
        "settings": {"embedding_dim": 4},
        "summary": {
            "chosen": {"hidden_size": 8, "dropout": 0.25},
            "weights_of_seed_0": encode_state_dict(model),
        },
    }
    loaded = load_surname_model(artefact)
    assert not loaded.training
    for (name, a), (other, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert name == other and torch.equal(a, b)
    with pytest.raises(ValueError, match="lm_gru"):
        load_surname_model({"summary": {}})


def test_the_stored_sweep_chose_on_validation_and_scored_only_the_final_models_on_test():
    from helpers.artefacts import load_artefact

    artefact = load_artefact("lm_gru")
    runs = artefact["runs"]
    choosing = [run for run in runs if run["stage"] != "seeds" and not run.get("diverged")]
    finals = [run for run in runs if run["stage"] == "seeds"]
    best = min(choosing, key=lambda run: run["val_perplexity"])
    chosen = artefact["summary"]["chosen"]
    assert (best["learning_rate"], best["dropout"]) == (chosen["learning_rate"], chosen["dropout"])
    assert all(run["test_perplexity"] is None for run in choosing)
    assert sorted(run["seed"] for run in finals) == [0, 1, 2]
    assert all(
        run["test_perplexity"] > 1
        and run["learning_rate"] == chosen["learning_rate"]
        and run["dropout"] == chosen["dropout"]
        for run in finals
    )
    for run in choosing + finals:  # the kept epoch is the best validation epoch
        assert run["val_perplexity"] == pytest.approx(math.exp(min(run["val_loss"])), rel=1e-6)

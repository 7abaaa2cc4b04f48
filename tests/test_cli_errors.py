"""Every error a user can cause from the command line is one line, never a traceback: each `komi`
subcommand with bad flags, bad values and missing or hostile files. Also: nothing is created
before a refusal, and the --help texts say what each value is."""
import argparse
import json
import pickle
import subprocess
import sys

import pytest

from komi.cli import _build_parser, main

envs_go = pytest.importorskip("envs.go")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A good tiny 5x5 checkpoint, hostile ones, a text file, a pickle, a junk SGF folder."""
    import torch

    from agent.checkpoint import network_metadata, save_checkpoint
    from agent.network import PolicyValueNet, preset
    from envs.go import features

    d = tmp_path_factory.mktemp("cli")
    torch.manual_seed(0)
    net = PolicyValueNet(preset("tiny", board_size=5, in_planes=features.num_planes("basic")))
    good = save_checkpoint(d / "good", net, network_metadata(net, "basic", step=1))
    meta = json.loads((d / "good.json").read_text())

    def variant(name, text=None, edit=None, weights=None):
        (d / f"{name}.safetensors").write_bytes(weights if weights is not None else
                                                (d / "good.safetensors").read_bytes())
        if edit is not None:
            m = json.loads(json.dumps(meta))
            edit(m)
            text = json.dumps(m)
        (d / f"{name}.json").write_text(text)
        return d / name

    out = {"good": good, "dir": d,
           "list": variant("list", "[1, 2, 3]"), "null": variant("null", "null"),
           "deep": variant("deep", "[" * 100_000 + "]" * 100_000),
           "huge": variant("huge", edit=lambda m: m["architecture"]["config"].update(channels=200000)),
           "float": variant("float", edit=lambda m: m["architecture"]["config"].update(channels=16.0)),
           "nofs": variant("nofs", edit=lambda m: m.pop("feature_set")),
           "pickled": variant("pickled", edit=lambda m: None, weights=pickle.dumps({"w": [1.0]}))}
    state = {k: v.clone() for k, v in net.state_dict().items()}
    state["value_fc2.bias"].fill_(float("nan"))
    from safetensors.torch import save_file
    save_file(state, str(d / "nan.safetensors"))
    (d / "nan.json").write_text(json.dumps(meta))
    out["nan"] = d / "nan"
    torch.save(net.state_dict(), d / "model.pt")
    out["pt"] = d / "model.pt"
    (d / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n")
    out["text"] = d / "passwd"
    (d / "sgf").mkdir()
    (d / "sgf" / "junk.sgf").write_bytes(b"\x00\xffnot a game")
    out["sgf"] = d / "sgf"
    return out


def _check_one_line(code, err):
    """A refusal: non-zero status, no traceback, and either argparse's usage + one error line, or
    exactly one line starting with `komi`."""
    assert code not in (0, None), err
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines, "nothing said"
    if lines[0].startswith("usage:"):
        assert lines[-1].startswith("komi") and ": error: " in lines[-1], err
    else:
        assert len(lines) == 1 and lines[0].startswith("komi"), err


def _run_in_process(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exit_:  # argparse
        code = exit_.code
    return code, capsys.readouterr().err


# (argv with {placeholders} for the files fixture, what the one line says)
CASES = [
    # demo
    ("demo --size 1", "--size must be between 2 and 25"),
    ("demo --size 100000000000", "--size must be between 2 and 25"),
    ("demo --size x", "argument --size"),
    ("demo --komi nan", "a finite number expected"),
    ("demo --komi 1e300", "must be a number in -1000..1000"),
    ("demo --seed -1", "--seed must be between 0 and 2^64-1"),
    ("demo --seed 99999999999999999999", "--seed must be between 0 and 2^64-1"),
    ("demo --nosuch", "unrecognized arguments"),
    # play
    ("play --checkpoint {dir}/missing", "missing: no such checkpoint"),
    ("play --checkpoint {text}", "passwd: not a komi checkpoint"),
    ("play --checkpoint {pt}", "model.pt: a zip archive"),
    ("play --checkpoint {dir}", "a folder, not a checkpoint"),
    ("play --checkpoint {list}", "list.json: checkpoint metadata must be a JSON object"),
    ("play --checkpoint {null}", "must be a JSON object, not null"),
    ("play --checkpoint {deep}", "nested too deeply"),
    ("play --checkpoint {huge}", "architecture.config.channels must be between 1 and 1024"),
    ("play --checkpoint {float}", "architecture.config.channels must be an integer"),
    ("play --checkpoint {nofs}", "feature_set missing"),
    ("play --checkpoint {nan}", "holds NaN"),
    ("play --checkpoint {pickled}", "a Python pickle"),
    ("play --checkpoint {good} --size 9", "--size 9 does not fit checkpoint"),
    ("play --checkpoint {good} --device nonsense", "not a torch device"),
    ("play --checkpoint random --size 1", "argument --size"),
    ("play --checkpoint random --size 30", "argument --size"),
    ("play --checkpoint random --handicap 1", "--handicap must be 0 (none) or between 2 and 9"),
    ("play --checkpoint random --handicap 20", "argument --handicap"),
    ("play --checkpoint random --visits 0", "argument --visits"),
    ("play --checkpoint random --seconds nan", "argument --seconds"),
    ("play --checkpoint random --komi inf", "argument --komi"),
    ("play --checkpoint random --save {dir}/no/such/g.sgf", "no such folder"),
    ("play --color purple", "argument --color"),
    # gtp
    ("gtp --checkpoint {dir}/missing", "no such checkpoint"),
    ("gtp --checkpoint {text}", "passwd: not a komi checkpoint"),
    ("gtp --checkpoint {deep}", "nested too deeply"),
    ("gtp --checkpoint {nan}", "holds NaN"),
    ("gtp --checkpoint {good} --size 9", "--size 9 does not fit checkpoint"),
    ("gtp --checkpoint {good} --device nonsense", "not a torch device"),
    ("gtp --checkpoint {good} --visits -1", "argument --visits"),
    ("gtp --checkpoint {good} --resign-threshold 5", "argument --resign-threshold"),
    ("gtp --random --size 1", "argument --size"),
    ("gtp --random --komi nan", "argument --komi"),
    ("gtp --random --threads -1", "argument --threads"),
    ("gtp --checkpoint-dir {text}", "--checkpoint-dir"),
    # tournament
    ("tournament random --out {dir}/t1", "at least two players"),
    ("tournament random random --out {dir}/t2", "player names must be unique"),
    ("tournament random nonexist-command-xyz --out {dir}/t3", "neither 'random', a checkpoint"),
    ("tournament random r2=random --gauntlet nope --out {dir}/t4", "gauntlet player 'nope'"),
    ("tournament random r2=random --anchor x=abc --out {dir}/t5", "the rating after '=' must be a number"),
    ("tournament random r2=random --games 0", "argument --games"),
    ("tournament random r2=random --size 50", "argument --size"),
    ("tournament random r2=random --parallel 0", "argument --parallel"),
    ("tournament random r2=random --komi nan", "argument --komi"),
    ("tournament random r2=random --out {text}", "exists and is not a folder"),
    ("tournament random {nan} --size 5 --out {dir}/t6", "holds NaN"),
    ("tournament random {list}.json --size 5 --out {dir}/t7", "must be a JSON object"),
    ("tournament --checkpoints {dir}/missing --out {dir}/t8", "not a folder"),
    # pretrain
    ("pretrain --sgf {dir}/missing", "no such file or directory"),
    ("pretrain --sgf {sgf} --preset huge", "argument --preset: invalid choice: 'huge'"),
    ("pretrain --sgf {sgf} --feature-set colour", "argument --feature-set"),
    ("pretrain --sgf {sgf} --board-size 1", "argument --board-size"),
    ("pretrain --sgf {sgf} --lr nan", "argument --lr"),
    ("pretrain --sgf {sgf} --steps -1", "argument --steps"),
    ("pretrain --sgf {sgf} --device nonsense", "not a torch device"),
    ("pretrain --sgf {sgf} --checkpoint-dir {text}", "exists and is not a folder"),
    ("pretrain", "the following arguments are required: --sgf"),
    # eval-moves
    ("eval-moves --checkpoint {dir}/missing --sgf {sgf}", "no such checkpoint"),
    ("eval-moves --checkpoint {nofs} --sgf {sgf}", "feature_set missing"),
    ("eval-moves --checkpoint {null} --sgf {sgf}", "must be a JSON object"),
    ("eval-moves --checkpoint {pt} --sgf {sgf}", "model.pt: a zip archive"),
    ("eval-moves --checkpoint {good} --sgf {dir}/missing", "no such file or directory"),
    ("eval-moves --checkpoint {good} --sgf {sgf} --batch-size 0", "argument --batch-size"),
    ("eval-moves --checkpoint {good} --sgf {sgf} --max-positions -1", "argument --max-positions"),
    ("eval-moves --checkpoint {good} --sgf {sgf} --device nonsense", "not a torch device"),
    # selfplay
    ("selfplay --preset huge --out {dir}/s1", "argument --preset: invalid choice: 'huge'"),
    ("selfplay --evaluation arena --out {dir}/s2", "argument --evaluation"),
    ("selfplay --feature-set colour --out {dir}/s3", "argument --feature-set"),
    ("selfplay --komi nan --out {dir}/s4", "argument --komi"),
    ("selfplay --fpu-reduction inf --out {dir}/s5", "argument --fpu-reduction"),
    ("selfplay --steps x", "argument --steps"),
    ("selfplay --board-size 1 --out {dir}/s6", "board size must be 2..19"),
    ("selfplay --device nonsense --out {dir}/s7", "not a torch device"),
    ("selfplay --out {text}", "exists and is not a folder"),
    ("selfplay --init {dir}/missing --out {dir}/s8", "no such checkpoint"),
    ("selfplay --init {nan} --board-size 5 --feature-set basic --out {dir}/s9", "holds NaN"),
    ("selfplay --init {huge} --board-size 5 --out {dir}/s10", "architecture.config.channels"),
    ("selfplay --resume --out {dir}/s11", "--resume"),
    # dqn
    ("dqn", "the following arguments are required"),
    ("dqn train --preset nope", "argument --preset"),
    ("dqn train --learning-rate nan", "argument --learning-rate"),
    ("dqn train --hidden x", "argument --hidden"),
    ("dqn train --torso tower", "argument --torso"),
    ("dqn train --env NoSuchGame-v0 --out {dir}/d1", "unknown environment id"),
    ("dqn train --steps 0 --out {dir}/d2", "total_steps must be positive"),
    ("dqn train --device nonsense --out {dir}/d3", "not a torch device"),
    ("dqn eval {dir}/missing", "no such checkpoint"),
    ("dqn eval {good}", "not a DQN checkpoint"),
    ("dqn eval {list}", "must be a JSON object"),
    ("dqn eval {good} --episodes 0", "argument --episodes"),
    ("dqn eval {good} --epsilon 2", "argument --epsilon"),
    ("dqn play {dir}/missing", "no such checkpoint"),
    ("dqn play {good} --record x.mp4", "only .gif output"),
    # the command itself
    ("nosuchcommand", "invalid choice"),
]


@pytest.mark.parametrize("argv, says", CASES, ids=[c[0] for c in CASES])
def test_each_subcommand_refuses_bad_input_in_one_line(files, capsys, argv, says):
    code, err = _run_in_process(argv.format(**files).split(), capsys)
    _check_one_line(code, err)
    assert says in err


def test_nothing_is_created_before_a_refusal(files, capsys):
    d = files["dir"]
    for argv in (["tournament", "random", "--out", d / "lonely"],
                 ["tournament", "random", files["nan"], "--size", "5", "--out", d / "bad-player"],
                 ["selfplay", "--preset", "huge", "--out", d / "no-run"],
                 ["play", "--checkpoint", "random", "--save", d / "no" / "such" / "g.sgf"]):
        code, err = _run_in_process(argv, capsys)
        _check_one_line(code, err)
    assert not (d / "lonely").exists() and not (d / "bad-player").exists()
    assert not (d / "no-run").exists() and not (d / "no").exists()


def test_save_in_komi_play_makes_no_folders(tmp_path):
    from agent.players import RandomPlayer
    from komi.terminal import PlaySession

    s = PlaySession(RandomPlayer(seed=1), 1, 5, 7.5, save_path=tmp_path / "auto.sgf")
    target = tmp_path / "no" / "such" / "dir" / "g.sgf"
    assert s.handle(f"save {target}") == f"Cannot save to {target}: no such folder {target.parent}."
    assert not (tmp_path / "no").exists()
    assert "is a folder" in s.handle(f"save {tmp_path}")
    assert s.handle(f"save {tmp_path / 'g.sgf'}") == f"Game saved to {tmp_path / 'g.sgf'}."


def test_error_messages_have_one_prefix_and_one_line(capsys):
    from komi.cli import one_line
    from komi.errors import KomiError

    assert one_line("komi: checkpoint plays 9x9, not 19x19") == "checkpoint plays 9x9, not 19x19"
    assert one_line("first\n  second\n") == "first; second"

    def fail(args):
        raise KomiError("komi: two\nlines")

    def unwritable(args):
        raise PermissionError(13, "Permission denied", "/root/x")

    for func, text in ((fail, "komi: error: two; lines"), (unwritable, "komi: error: /root/x: Permission denied")):
        parser = argparse.Namespace(func=func)
        import komi.cli as cli
        real = cli._build_parser
        try:
            cli._build_parser = lambda only: _StubParser(parser)
            assert main(["demo"]) == 2
        finally:
            cli._build_parser = real
        assert capsys.readouterr().err.strip() == text


class _StubParser:
    def __init__(self, namespace):
        self.namespace = namespace

    def parse_args(self, argv):
        return self.namespace


# --- through the real entry point (a few: each starts a Python) ---------------------------------

@pytest.mark.parametrize("argv, says", [
    (["selfplay", "--preset", "huge"], "invalid choice: 'huge'"),
    (["play", "--checkpoint", "{good}", "--size", "9"], "--size 9 does not fit checkpoint"),
    (["play", "--checkpoint", "{text}"], "passwd: not a komi checkpoint"),
    (["gtp", "--checkpoint", "{huge}"], "architecture.config.channels must be between 1 and 1024"),
    (["demo", "--size", "100000000000"], "--size must be between 2 and 25"),
])
def test_the_console_command_prints_no_traceback(files, argv, says):
    argv = [a.format(**files) for a in argv]
    res = subprocess.run([sys.executable, "-m", "komi", *argv], capture_output=True, text=True,
                         timeout=300, stdin=subprocess.DEVNULL, cwd=files["dir"])
    _check_one_line(res.returncode, res.stderr)
    assert says in res.stderr and "komi: error: komi:" not in res.stderr


# --- --help ------------------------------------------------------------------------------------

def _parsers():
    """(name, parser) of every subcommand, `dqn train` and friends included."""
    def walk(prefix, parser):
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs:
            yield prefix, parser
        for action in subs:
            for name, child in action.choices.items():
                yield from walk(f"{prefix} {name}".strip(), child)
    yield from walk("", _build_parser(None))


def _options(parser):
    return [a for a in parser._actions if a.option_strings and a.nargs != 0
            and not isinstance(a, (argparse._HelpAction, argparse._VersionAction))]


def test_every_subcommand_is_walked():
    names = {name for name, _ in _parsers()}
    assert {"demo", "play", "gtp", "tournament", "pretrain", "eval-moves", "selfplay",
            "dqn train", "dqn eval", "dqn play"} <= names


def test_metavars_say_what_a_value_is():
    for name, parser in _parsers():
        for action in _options(parser):
            if action.choices:
                continue  # argparse lists them: {a,b,c}
            shown = action.metavar or action.dest.upper()
            shown = shown if isinstance(shown, str) else " ".join(shown)
            assert shown not in ("INT", "STR", "FLOAT", "BOOL"), (name, action.option_strings, shown)
            assert "_" not in shown, (name, action.option_strings, shown)  # argparse's dest name


def test_choices_are_listed_and_defaults_shown_once():
    from agent.presets import PRESETS

    helps = {name: parser.format_help() for name, parser in _parsers()}
    for name in ("selfplay", "pretrain"):
        assert "{" + ",".join(PRESETS) + "}" in helps[name]
    assert "{elo,gating,none}" in helps["selfplay"]
    for name, parser in _parsers():
        for action in _options(parser):
            assert (action.help or "").count("default") <= 1, (name, action.option_strings, action.help)


def test_visits_show_their_default_and_board_sizes_are_explained():
    parsers = dict(_parsers())

    def help_of(command, flag):
        return next(a.help for a in parsers[command]._actions if flag in a.option_strings)

    for command in ("play", "gtp", "tournament"):
        assert "default" in help_of(command, "--visits"), command
    assert "komi play" in help_of("gtp", "--size") and "komi gtp" in help_of("play", "--size")


def test_help_runs_for_every_subcommand(capsys):
    for name, _ in _parsers():
        with pytest.raises(SystemExit) as info:
            main(name.split() + ["--help"])
        assert info.value.code == 0
        assert "usage:" in capsys.readouterr().out

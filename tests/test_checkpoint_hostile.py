"""Hostile checkpoint files: every one is refused with a one-line CheckpointError naming the file
and the field, before anything is built or allocated; nothing is ever unpickled."""
import json
import pickle
import struct

import pytest
import torch
from safetensors.torch import save_file

from agent.checkpoint import (CheckpointError, check_network, load_network, load_training_state,
                              load_weights, network_metadata, read_metadata, save_checkpoint)
from agent.network import NetworkConfig, NetworkConfigError, PolicyValueNet, preset
from komi.errors import KomiError


def _good(tmp_path, name="good"):
    """A small, valid checkpoint (5x5, feature set basic = 4 planes); returns (stem, metadata)."""
    torch.manual_seed(0)
    net = PolicyValueNet(preset("tiny", board_size=5, in_planes=4))
    stem = save_checkpoint(tmp_path / name, net, network_metadata(net, "basic", step=3),
                           {"optimizer": torch.optim.SGD(net.parameters(), lr=0.1).state_dict()})
    return stem, json.loads(stem.with_name(name + ".json").read_text())


def _with_meta(tmp_path, meta_text, name="bad"):
    """The good checkpoint's weights under a stem whose metadata is `meta_text` (str or dict)."""
    stem, _ = _good(tmp_path, name)
    text = meta_text if isinstance(meta_text, str) else json.dumps(meta_text)
    stem.with_name(name + ".json").write_text(text)
    return stem


def _refused(path, match, loader=load_network):
    with pytest.raises(CheckpointError, match=match) as info:
        loader(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_good_checkpoint_loads_and_passes_the_check(tmp_path):
    stem, _ = _good(tmp_path)
    net, meta = load_network(stem, board_size=5, feature_set="basic")
    assert meta["step"] == 3 and net.config.in_planes == 4
    assert check_network(stem)["feature_set"] == "basic"


@pytest.mark.parametrize("field, value, match", [
    ("channels", 200000, r"architecture\.config\.channels must be between 1 and 1024, got 200000"),
    ("blocks", 10**7, r"architecture\.config\.blocks must be between 1 and 64"),
    ("blocks", 65, r"architecture\.config\.blocks must be between 1 and 64"),
    ("channels", 16.0, r"architecture\.config\.channels must be an integer, got 16\.0"),
    ("blocks", True, r"architecture\.config\.blocks must be an integer, got True"),
    ("board_size", "5", r"architecture\.config\.board_size must be an integer"),
    ("value_hidden", -1, r"architecture\.config\.value_hidden must be between"),
    ("ownership_head", "yes", r"architecture\.config\.ownership_head must be true or false"),
    ("policy_head", ["fc"], r"architecture\.config\.policy_head must be 'fc' or 'conv'"),
    ("surprise", 1, r"unknown architecture\.config fields: \['surprise'\]"),
])
def test_architecture_fields_are_checked_before_anything_is_built(tmp_path, monkeypatch, field, value, match):
    _, meta = _good(tmp_path)
    meta["architecture"]["config"][field] = value
    stem = _with_meta(tmp_path, meta)
    built = []
    monkeypatch.setattr(PolicyValueNet, "__init__", lambda self, config: built.append(config))
    message = _refused(stem, match)
    assert message.startswith(str(stem) + ".json: ")
    assert not built  # refused before a network (even a meta-device skeleton) was built


@pytest.mark.parametrize("text, match", [
    ("[1, 2, 3]", "must be a JSON object, not list"),
    ("null", "must be a JSON object, not null"),
    ("7", "must be a JSON object, not int"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"board_size": ', "unreadable checkpoint metadata"),
    ('{"step": 1' + "0" * 5000 + "}", "unreadable checkpoint metadata"),
    ("\udcff", "unreadable"),
])
def test_metadata_that_is_no_json_object_is_refused(tmp_path, text, match):
    stem, _ = _good(tmp_path)
    meta_path = stem.with_name(stem.name + ".json")
    meta_path.write_bytes(text.encode("utf-8", "surrogateescape"))
    message = _refused(stem, match, read_metadata)
    assert message.startswith(str(meta_path))


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.pop("feature_set"), "feature_set missing"),
    (lambda m: m.update(feature_set="colour"), "feature_set must be one of agz, extended, basic"),
    (lambda m: m.update(feature_set=5), "feature_set must be a string"),
    (lambda m: m.pop("board_size"), "board_size missing"),
    (lambda m: m.update(board_size=5.0), "board_size must be an integer between 2 and 25"),
    (lambda m: m.update(board_size=7), "architecture board size 5 disagrees with metadata board_size 7"),
    (lambda m: m.update(step=-1), "step must be an integer >= 0"),
    (lambda m: m.update(format_version=99), "format_version 99 was written by a newer komi"),
    (lambda m: m.update(format_version="1"), "format_version must be a positive integer"),
    (lambda m: m.update(architecture=[1]), "architecture must be a JSON object"),
    (lambda m: m.pop("architecture"), "no architecture field"),
    (lambda m: m["architecture"].update(kind="ResNet"), "not a PolicyValueNet checkpoint"),
    (lambda m: m["architecture"].update(config=None), "architecture.config must be a JSON object, not NoneType"),
    (lambda m: m["architecture"].pop("config"), "architecture.config missing"),
])
def test_every_field_komi_reads_is_checked(tmp_path, edit, match):
    _, meta = _good(tmp_path)
    edit(meta)
    _refused(_with_meta(tmp_path, meta), match)


def test_check_network_wants_the_feature_set_to_give_the_input_planes(tmp_path):
    _, meta = _good(tmp_path)
    meta["feature_set"] = "extended"  # 30 planes, the network takes 4
    stem = _with_meta(tmp_path, meta)
    _refused(stem, "in_planes is 4, but feature_set 'extended' gives 30 planes", check_network)


def test_weights_are_checked_against_the_architecture_from_the_header_alone(tmp_path, monkeypatch):
    _, meta = _good(tmp_path)
    meta["architecture"]["config"]["channels"] = 1024  # the file holds a 16-channel net
    stem = _with_meta(tmp_path, meta)
    monkeypatch.setattr("agent.checkpoint.load_file", lambda *a: pytest.fail("tensors loaded"))
    _refused(stem, r"bad\.safetensors: weights do not fit the model: stem\.0\.weight has shape "
                   r"\[16, 4, 3, 3\], the architecture needs \[1024, 4, 3, 3\]")


def _rewrite_weights(stem, change):
    path = stem.with_name(stem.name + ".safetensors")
    from safetensors.torch import load_file
    state = load_file(str(path))
    change(state)
    save_file(state, str(path))


@pytest.mark.parametrize("change, match", [
    (lambda s: s.update({"stem.0.weight": torch.zeros(16, 4, 3, 4)}), r"stem\.0\.weight has shape \[16, 4, 3, 4\]"),
    (lambda s: s.update({"stem.0.weight": torch.zeros(16, 4, 3, 3, dtype=torch.int32)}), "is I32, the architecture needs a float"),
    (lambda s: s.pop("value_fc2.bias"), r"missing value_fc2\.bias"),
    (lambda s: s.update({"extra.weight": torch.zeros(1)}), r"unexpected 'extra\.weight'"),
    (lambda s: s["value_fc2.bias"].fill_(float("nan")), r"tensor value_fc2\.bias holds NaN or infinite values"),
    (lambda s: s["stem.0.weight"].view(-1)[7].fill_(float("inf")), r"tensor stem\.0\.weight holds NaN or infinite"),
    (lambda s: s["stem.1.running_var"].fill_(-1.0), "negative variances"),
])
def test_bad_tensors_are_refused(tmp_path, change, match):
    stem, _ = _good(tmp_path)
    _rewrite_weights(stem, change)
    _refused(stem, match)


def test_nan_weights_are_refused_by_the_generic_loader_too(tmp_path):
    stem, _ = _good(tmp_path)
    _rewrite_weights(stem, lambda s: s["value_fc1.weight"].fill_(float("nan")))
    net = PolicyValueNet(preset("tiny", board_size=5, in_planes=4))
    _refused(stem, "holds NaN", lambda p: load_weights(p, net))


def test_fp16_weights_load_into_the_fp32_network(tmp_path):
    stem, _ = _good(tmp_path)
    _rewrite_weights(stem, lambda s: s.update({k: v.half() for k, v in s.items() if v.is_floating_point()}))
    net, _ = load_network(stem)
    assert next(net.parameters()).dtype == torch.float32


@pytest.mark.parametrize("cut", [0, 5, 8, 100, -1])
def test_truncated_weights_are_refused(tmp_path, cut):
    stem, _ = _good(tmp_path)
    path = stem.with_name(stem.name + ".safetensors")
    data = path.read_bytes()
    path.write_bytes(data[:cut] if cut >= 0 else data[:-1])
    _refused(stem, r"good\.safetensors: unreadable weights")


def test_a_header_promising_more_than_the_file_holds_is_refused(tmp_path):
    stem, _ = _good(tmp_path)
    header = json.dumps({"stem.0.weight": {"dtype": "F32", "shape": [1 << 20, 1 << 20],
                                           "data_offsets": [0, 4 << 40]}}).encode()
    stem.with_name(stem.name + ".safetensors").write_bytes(struct.pack("<Q", len(header)) + header)
    _refused(stem, "does not fit its data_offsets")


def test_a_pickle_named_safetensors_is_refused_unread(tmp_path):
    stem, _ = _good(tmp_path)
    stem.with_name(stem.name + ".safetensors").write_bytes(pickle.dumps({"weights": [1.0]}))
    message = _refused(stem, "unreadable weights: a Python pickle")
    assert "never unpickles" in message


def test_a_pickle_named_pt_is_named_as_what_it_is(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, path)  # torch.save writes a zip archive holding a pickle
    message = _refused(path, "model.pt: a zip archive")
    assert "model.pt.json" not in message and "safetensors" in message and "never unpickles" in message
    legacy = tmp_path / "legacy.pth"
    legacy.write_bytes(pickle.dumps({"w": 1}, protocol=2))
    _refused(legacy, "legacy.pth: a Python pickle")


def test_a_file_that_is_no_checkpoint_is_named_as_given(tmp_path):
    other = tmp_path / "passwd"
    other.write_text("root:x:0:0:root:/root:/bin/bash\n")
    message = _refused(other, "passwd: not a komi checkpoint")
    assert "passwd.json" not in message
    _refused(tmp_path, "a folder, not a checkpoint")
    _refused(tmp_path / "missing", "missing: no such checkpoint")


def test_metadata_that_is_not_a_regular_file_is_refused(tmp_path):
    import os
    stem, _ = _good(tmp_path)
    meta_path = stem.with_name(stem.name + ".json")
    meta_path.unlink()
    os.mkfifo(meta_path)  # would block a reader forever
    _refused(stem, "no such checkpoint metadata file|not a regular file", read_metadata)


def test_malformed_training_state_is_a_checkpoint_error(tmp_path):
    stem, _ = _good(tmp_path)
    optim = stem.with_name(stem.name + ".optim.json")
    for text in ('{"__tensor__": "no-such-tensor"}', '{"__dict__": 5}', "[" * 50_000 + "]" * 50_000,
                 "null", "[1]"):
        optim.write_text(text)
        _refused(stem, "training state", load_training_state)


def test_network_config_errors_are_komi_errors_and_value_errors():
    with pytest.raises(NetworkConfigError) as info:
        preset("huge")
    assert isinstance(info.value, KomiError) and isinstance(info.value, ValueError)
    with pytest.raises(NetworkConfigError, match="must be a JSON object"):
        NetworkConfig.from_dict([1, 2])


def test_check_network_refuses_nan_weights_without_building_the_network(tmp_path, monkeypatch):
    stem, _ = _good(tmp_path)
    _rewrite_weights(stem, lambda s: s["policy_pass.weight"].fill_(float("nan")))
    real_init = PolicyValueNet.__init__

    def only_on_meta(self, config):
        assert torch.empty(0).device.type == "meta", "a real network was built"
        real_init(self, config)

    monkeypatch.setattr(PolicyValueNet, "__init__", only_on_meta)
    _refused(stem, r"tensor policy_pass\.weight holds NaN", check_network)

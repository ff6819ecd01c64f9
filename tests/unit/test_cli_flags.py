"""Flags given before a command that ignores them are errors: one line, exit 2."""

from __future__ import annotations


def test_flags_before_a_command_that_ignores_them_are_errors(capsys):
    import pytest

    from mnist_tui.cli import main

    for argv, words in ((["--load", "x.npz", "train"], "--load opens a checkpoint"),
                        (["--db", "", "runs", "list"], "--db needs the path"),
                        (["--db", ":memory:", "train"], "--db needs the path")):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1

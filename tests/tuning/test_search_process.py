"""A search worker reads its assignment from stdin after its imports; its exit status says how it ended."""

import io
import pickle

from kerasforge.tuning.search_process import EXIT_FINISHED, EXIT_USER_ERROR, main


def test_a_worker_whose_parent_ended_before_assigning_it_ends_quietly(capsys):
    assert main(io.BytesIO(b"")) == EXIT_FINISHED
    assert capsys.readouterr().err == ""


def test_a_user_mistake_in_the_assignment_is_one_line_and_exit_2(capsys):
    assignment = {
        "job": None,
        "tuner_id": "worker0",
        "oracle": "no-port",
        "threads": 1,
        "trial_limit": None,
        "search_started": 0.0,
    }
    assert main(io.BytesIO(pickle.dumps(assignment))) == EXIT_USER_ERROR
    assert capsys.readouterr().err == (
        "kerasforge: error: --oracle must be HOST:PORT, e.g. 127.0.0.1:8000. Received: 'no-port'\n"
    )

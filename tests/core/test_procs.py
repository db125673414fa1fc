import os
import subprocess
import sys

from modelbook.core.procs import alive


def test_alive_on_our_own_pid_and_on_a_dead_one():
    assert alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid no longer names a process (unless reused within these microseconds)
    assert not alive(child.pid)


def test_alive_on_a_process_we_may_not_signal():
    assert alive(1)  # init exists; as a normal user the probe gets EPERM, which still means "alive"


def test_store_and_model_registry_share_it():
    from modelbook.core import store
    from modelbook.serving import registry

    assert store.alive is registry.alive is alive

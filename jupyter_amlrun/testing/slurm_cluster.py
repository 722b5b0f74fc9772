"""A one-node Slurm cluster on loopback, for tests and benchmarks (munged, slurmctld, slurmd from a temp conf).

Needs root and Debian's slurm-wlm packages (``scripts/install-test-tools.sh``). Everything the cluster writes is in
its own temp folder; the daemons are stopped by the pids in their pid files (pid 1 here does not reap at once, so
dead daemons can linger as zombies: they count as stopped).

``start(accounts={"lab": ["root"]})`` also runs accounting with associations enforced, as a site does: a MariaDB
server (its own data folder, 127.0.0.1 and a socket in the cluster's folder) and slurmdbd, the cluster, its accounts
and their users added with ``sacctmgr``, ``AccountingStorageEnforce=associations``: Slurm then refuses a job whose
account the user has no association with. Needs the ``slurmdbd`` and ``mariadb-server`` packages as well.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scancel", "sinfo", "scontrol")
ACCOUNTING_BINARIES = ("slurmdbd", "sacctmgr", "mariadbd", "mariadb-install-db", "mariadb")
CLUSTER = "amlruntest"
DB_PASSWORD = "amlrun-test-only"  # a throwaway database on 127.0.0.1 of a test cluster, gone with its folder
MUNGE_DIRS = ("/var/log/munge", "/var/lib/munge", "/etc/munge", "/run/munge")


@dataclass
class SlurmCluster:
    """A running test cluster: its conf (``SLURM_CONF``), folder and partition."""

    folder: Path
    conf: Path
    partition: str = "debug"
    cpus: int = 2
    accounting: bool = False

    def env(self) -> dict[str, str]:
        """This process's environment with the cluster's conf."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}


def missing() -> str | None:
    """Why a test cluster cannot start here, or None."""
    absent = [b for b in BINARIES if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]
    if absent:
        return f"Slurm/munge binaries missing ({', '.join(absent)}): run scripts/install-test-tools.sh as root"
    if os.geteuid() != 0:
        return "the one-node Slurm test cluster needs root (SlurmUser=root, munged as munge)"
    return None


def missing_accounting() -> str | None:
    """Why a cluster with accounting (slurmdbd over MariaDB) cannot start here, or None."""
    why = missing()
    if why:
        return why
    absent = [b for b in ACCOUNTING_BINARIES if shutil.which(b) is None and not Path(f"/usr/sbin/{b}").exists()]
    if absent:
        return f"accounting binaries missing ({', '.join(absent)}): apt-get install slurmdbd mariadb-server"
    return None


def _sbin(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


def _start_accounting(folder: Path, env: dict[str, str], accounts: dict[str, list[str]]) -> None:
    """MariaDB and slurmdbd for the cluster in ``folder`` (its slurm.conf already names slurmdbd's port), then the
    cluster, accounts and users in the database."""
    db = folder / "db"
    install = subprocess.run(
        ["mariadb-install-db", "--user=root", f"--datadir={db}", "--auth-root-authentication-method=normal",
         "--skip-test-db"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if install.returncode != 0:
        raise RuntimeError(f"mariadb-install-db failed: {install.stdout[-500:]}{install.stderr[-500:]}")
    sock, port = folder / "mysql.sock", (folder / "db_port").read_text().strip()
    subprocess.Popen(
        [_sbin("mariadbd"), "--user=root", f"--datadir={db}", f"--socket={sock}", f"--port={port}",
         "--bind-address=127.0.0.1", f"--pid-file={folder}/mariadb.pid", f"--log-error={folder}/mariadb.log"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    sql = (
        f"CREATE USER 'slurm'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}'; "
        "GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1'; FLUSH PRIVILEGES;"
    )
    deadline = time.monotonic() + 60
    while subprocess.run(
        ["mariadb", f"--socket={sock}", "-uroot", "-e", sql], capture_output=True, check=False
    ).returncode:
        if time.monotonic() > deadline:
            raise RuntimeError(f"MariaDB did not answer in 60 s (log: {folder}/mariadb.log)")
        time.sleep(0.3)
    subprocess.run([_sbin("slurmdbd")], env=env, check=True, timeout=60, capture_output=True)
    deadline = time.monotonic() + 60
    while True:  # slurmdbd creates its tables, then answers
        done = subprocess.run(["sacctmgr", "-i", "add", "cluster", CLUSTER], env=env, capture_output=True, text=True)
        if done.returncode == 0 or "already exists" in done.stdout + done.stderr:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"slurmdbd did not answer in 60 s: {done.stderr[-300:]} (log: {folder}/slurmdbd.log)")
        time.sleep(0.5)
    for account, users in accounts.items():
        subprocess.run(["sacctmgr", "-i", "add", "account", account], env=env, check=True, capture_output=True)
        for user in users:
            subprocess.run(
                ["sacctmgr", "-i", "add", "user", user, f"account={account}"], env=env, check=True, capture_output=True
            )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _start_munge() -> None:
    """munged once per machine (shared by every cluster here); left running."""
    if subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode == 0:
        return
    for d in MUNGE_DIRS:
        os.makedirs(d, exist_ok=True)
    subprocess.run(["chown", "-R", "munge:munge", *MUNGE_DIRS], check=True)
    munged = shutil.which("munged") or "/usr/sbin/munged"
    subprocess.run(["su", "-s", "/bin/sh", "munge", "-c", munged], check=True, timeout=30)
    deadline = time.monotonic() + 20
    while subprocess.run(["munge", "-n"], capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("munged did not answer in 20 s")
        time.sleep(0.2)


def start(
    cpus: int = 2, partition: str = "debug", max_time: str = "UNLIMITED", accounts: dict[str, list[str]] | None = None
) -> SlurmCluster:
    """Start a one-node cluster on 127.0.0.1 with free ports; ready (node idle) when this returns.

    ``accounts``: run accounting with associations enforced, these accounts and their users (see the module).
    """
    why = missing_accounting() if accounts else missing()
    if why:
        raise RuntimeError(why)
    _start_munge()
    folder = Path(tempfile.mkdtemp(prefix="amlslurm-"))
    folder.chmod(0o755)
    host = socket.gethostname()
    conf = folder / "slurm.conf"
    accounting: list[str] = []
    if accounts:
        dbd_port = _free_port()
        (folder / "db_port").write_text(str(_free_port()))
        dbd = folder / "slurmdbd.conf"
        dbd.write_text(
            "\n".join(
                [
                    "AuthType=auth/munge",
                    f"DbdHost={host}",
                    "DbdAddr=127.0.0.1",
                    f"DbdPort={dbd_port}",
                    "SlurmUser=root",
                    f"PidFile={folder}/slurmdbd.pid",
                    f"LogFile={folder}/slurmdbd.log",
                    "StorageType=accounting_storage/mysql",
                    "StorageHost=127.0.0.1",
                    f"StoragePort={(folder / 'db_port').read_text()}",
                    "StorageUser=slurm",
                    f"StoragePass={DB_PASSWORD}",
                    "StorageLoc=slurm_acct_db",
                    "",
                ]
            )
        )
        dbd.chmod(0o600)  # slurmdbd refuses a conf others can read
        accounting = [
            "AccountingStorageType=accounting_storage/slurmdbd",
            "AccountingStorageHost=127.0.0.1",
            f"AccountingStoragePort={dbd_port}",
            "AccountingStorageEnforce=associations",
        ]
    conf.write_text(
        "\n".join(
            [
                f"ClusterName={CLUSTER}",
                *accounting,
                f"SlurmctldHost={host}(127.0.0.1)",
                f"SlurmctldPort={_free_port()}",
                f"SlurmdPort={_free_port()}",
                "SlurmUser=root",
                "SlurmdUser=root",
                "AuthType=auth/munge",
                f"StateSaveLocation={folder}/state",
                f"SlurmdSpoolDir={folder}/spool",
                f"SlurmctldPidFile={folder}/slurmctld.pid",
                f"SlurmdPidFile={folder}/slurmd.pid",
                f"SlurmctldLogFile={folder}/slurmctld.log",
                f"SlurmdLogFile={folder}/slurmd.log",
                "ProctrackType=proctrack/linuxproc",
                "TaskPlugin=task/none",
                "SelectType=select/cons_tres",
                "SelectTypeParameters=CR_Core",
                "ReturnToService=2",
                "MpiDefault=none",
                "SchedulerType=sched/backfill",
                "SchedulerParameters=sched_interval=2",
                "KillWait=5",  # SIGTERM -> SIGKILL at a time limit or scancel
                "OverTimeLimit=0",
                "InactiveLimit=0",
                "MinJobAge=300",  # finished jobs stay known to scontrol for 5 min (no slurmdbd here)
                "JobAcctGatherType=jobacct_gather/none",
                f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=8000 State=UNKNOWN",
                f"PartitionName={partition} Nodes=ALL Default=YES MaxTime={max_time} State=UP",
                "",
            ]
        )
    )
    for sub in ("state", "spool"):
        (folder / sub).mkdir()
    cluster = SlurmCluster(folder, conf, partition, cpus, accounting=bool(accounts))
    env = cluster.env()
    try:
        if accounts:
            _start_accounting(folder, env, accounts)
        for daemon in ("slurmctld", "slurmd"):
            exe = shutil.which(daemon) or f"/usr/sbin/{daemon}"
            subprocess.run([exe, "-f", str(conf)], env=env, check=True, timeout=60, capture_output=True)
        deadline = time.monotonic() + 60
        while True:
            out = subprocess.run(
                ["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True, timeout=20, check=False
            )
            if out.returncode == 0 and out.stdout.strip() in ("idle", "mix", "alloc"):
                return cluster
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Slurm test node is not idle after 60 s: {out.stdout}{out.stderr}")
            time.sleep(0.5)
    except BaseException:
        stop(cluster)
        raise


def stop(cluster: SlurmCluster, grace: float = 10.0) -> None:
    """Cancel its jobs, stop slurmd and slurmctld by their pid files, remove the folder (munged stays)."""
    with contextlib.suppress(Exception):
        subprocess.run(["scancel", "--full", "-u", "root"], env=cluster.env(), timeout=20, check=False)
    pids = []
    for name in ("slurmd.pid", "slurmctld.pid", "slurmdbd.pid", "mariadb.pid"):
        with contextlib.suppress(OSError, ValueError):
            pids.append(int((cluster.folder / name).read_text().strip()))
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        if not any(_alive(p) for p in pids):
            break
    shutil.rmtree(cluster.folder, ignore_errors=True)

"""`make demo`: render the template with defaults, install, migrate, add the demo team, serve.

Runs on the embedded defaults (SQLite, in-memory channel layer). When `redis-server` is on
PATH it starts one on a free loopback port, so `manage.py notify` from another shell reaches
open sockets too. A Celery worker with beat runs the scheduled jobs beside the server; without
Redis it has no broker and runs each job inline.
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
HOST = "127.0.0.1"
# DEMO_PORT=8001 make demo when 8000 is taken.
PORT = int(os.environ.get("DEMO_PORT", "8000"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) == 0


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> None:
    subprocess.run(args, cwd=cwd, env=env, check=True)


def main() -> int:
    if port_in_use(PORT):
        print(f"Port {PORT} is busy: stop what runs there or set DEMO_PORT.", file=sys.stderr)
        return 1
    project = Path(
        cookiecutter(str(ROOT), no_input=True, output_dir=str(BUILD), overwrite_if_exists=True)
    )
    print(f"Rendered {project}")
    run("make", "install", cwd=project)
    python = str(project / ".venv" / "bin" / "python")

    env = {**os.environ, "DEBUG": "true"}
    redis = worker = None
    if shutil.which("redis-server"):
        redis_port = free_port()
        redis = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        env["REDIS_URL"] = f"redis://{HOST}:{redis_port}/0"
        print(f"Started redis-server on {HOST}:{redis_port}")
    else:
        print("redis-server not found: using the in-memory channel layer (one process).")

    try:
        run(python, "manage.py", "migrate", "--noinput", cwd=project, env=env)
        celery = str(project / ".venv" / "bin" / "celery")
        schedule = str(BUILD / "celerybeat-schedule")
        worker = subprocess.Popen(
            [celery, "-A", "config", "worker", "--beat", "--loglevel", "WARNING", "-s", schedule],
            cwd=project,
            env=env,
        )
        base = f"http://{HOST}:{PORT}"
        print()
        print(f"Notification centre: {base}/")
        print(f"Tasks:               {base}/tasks/")
        print(f"API root:            {base}/api/")
        print(f"API docs (staff):    {base}/api/docs/")
        print(f"Admin:               {base}/admin/")
        print(f"WebSocket:           ws://{HOST}:{PORT}/ws/notifications/?token=<access token>")
        redis_env = f"REDIS_URL={env['REDIS_URL']} " if redis is not None else ""
        print(f"Send one:  cd {project} && {redis_env}.venv/bin/python manage.py notify alice Hi")
        print("Jobs (digests, pruning): a Celery worker with beat runs beside the server.")
        print()
        # The team (alice, bob, carol), their tasks, the sign-ins and three things to try.
        run(python, "manage.py", "demo_data", "--site", base, cwd=project, env=env)
        print()
        return subprocess.call(
            [python, "manage.py", "serve", "--bind", HOST, "--port", str(PORT)],
            cwd=project,
            env=env,
        )
    except KeyboardInterrupt:
        return 0
    finally:
        for process in (worker, redis):
            if process is not None:
                process.terminate()
                process.wait()


if __name__ == "__main__":
    sys.exit(main())

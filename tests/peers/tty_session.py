#!/usr/bin/env python3
"""Runs a command on a pseudo-terminal, as a person at a terminal would, and types answers to its prompts.

Usage:
    tty_session.py [--answer TEXT]... -- COMMAND [ARGS]...

Whenever the terminal's output ends with a prompt (text ending in ': '), the next answer is typed, followed
by Enter, as soon as the terminal stops echoing (a program writes its password prompt a moment before it
turns echo off; waiting for that is bounded to 5 seconds, after which the answer is typed anyway and its
echo, if any, shows in the output). Everything the terminal showed (prompts, and any echo of what was typed) is printed on stdout
once the command ends, followed by a last line `EXIT <code>`. The whole session is bounded: a command that
has not ended after 60 seconds is killed and the line is `EXIT timeout`.
"""

import argparse
import os
import pty
import select
import signal
import sys
import termios
import time


def wait_for_echo_off(fd: int) -> None:
    """Polls the terminal's settings (the master side reads the line discipline's) until ECHO is off."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not termios.tcgetattr(fd)[3] & termios.ECHO:
            return
        time.sleep(0.005)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answer", action="append", default=[])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    answers = list(args.answer)

    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(command[0], command)

    shown = b""
    pending = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            pending += chunk
            if pending.endswith(b": "):
                if answers:
                    wait_for_echo_off(fd)
                    os.write(fd, answers.pop(0).encode() + b"\r")
                pending = b""
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(shown.decode(errors="replace") + "\nEXIT timeout\n")
        return 0
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(shown.decode(errors="replace"))
    sys.stdout.write(f"\nEXIT {os.waitstatus_to_exitcode(status)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

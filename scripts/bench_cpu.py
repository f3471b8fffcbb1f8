#!/usr/bin/env python3
"""scripts/bench helper: runs a command and writes its CPU and wall time.

  bench_cpu.py OUT.json COMMAND [ARG...]

Runs COMMAND (its stdout and stderr pass through), waits for it with wait4, and writes
{"exit": N, "cpu_s": user + system seconds of the process and every thread and waited-for child,
"user_s": ..., "system_s": ..., "wall_s": ...} to OUT.json; exits with the command's exit code.
Standard library only.
"""

import json
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out, cmd = sys.argv[1], sys.argv[2:]
    start = time.monotonic()
    p = subprocess.Popen(cmd)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        json.dump(
            {
                "exit": code,
                "cpu_s": ru.ru_utime + ru.ru_stime,
                "user_s": ru.ru_utime,
                "system_s": ru.ru_stime,
                "wall_s": wall,
            },
            f,
        )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: Apache-2.0
"""vhm_check - the check/verdict helpers every integration script shares.

    from vhm_check import check, failures, verdict
    check("what", got, want)      # prints ok/FAIL, records a failure
    failures                      # the failure lines so far (scripts may append their own)
    sys.exit(verdict())           # prints the summary; 0 when all passed, else 1
"""

failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {got!r}, want {want!r}")
        print(f"FAIL {what}: got {got!r}, want {want!r}", flush=True)
    else:
        print(f"ok   {what}", flush=True)


def verdict():
    if failures:
        print(f"\n{len(failures)} check(s) failed:\n  " + "\n  ".join(failures))
        return 1
    print("all checks passed")
    return 0

"""The `ok - NAME` / `not ok - NAME: why` lines the packaging checks print, and their count
(tests/openwrt/run sums them). Standard library only."""

failed = 0


def check(name, ok, why=""):
    """Prints one result line; returns `ok`."""
    global failed
    if ok:
        print(f"ok - {name}")
    else:
        failed += 1
        print(f"not ok - {name}" + (f": {why}" if why else ""))
    return ok

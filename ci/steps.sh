# Helpers shared by ci/test_wheel.sh and ci/sanitize.sh (sourced, not run): timed steps, and
# a copy of the work tree. `step NAME "description"` closes the previous step and opens the next;
# `finish_step` closes the last one; STEP_NAMES / STEP_TIMES hold names and seconds.

T_START=$(date +%s)
STEP_NAMES=()
STEP_TIMES=()
CURRENT=""
CURRENT_T0=0

step() {  # step NAME "description": close the previous step, open the next one
    finish_step
    CURRENT=$1
    CURRENT_T0=$(date +%s)
    printf '\n==== [%s] %s ====\n' "$1" "$2"
}

finish_step() {
    if [[ -n "$CURRENT" ]]; then
        STEP_NAMES+=("$CURRENT")
        STEP_TIMES+=("$(( $(date +%s) - CURRENT_T0 ))")
        CURRENT=""
    fi
}

copy_worktree() {  # copy_worktree PYTHON ROOT DEST: tracked + untracked, not ignored, files
    git -C "$2" ls-files -z --cached --others --exclude-standard \
        | "$1" -c '
import os, shutil, sys
root, dest = sys.argv[1], sys.argv[2]
n = 0
for rel in sys.stdin.buffer.read().decode().split("\0"):
    src = os.path.join(root, rel)
    if not rel or not os.path.lexists(src) or os.path.isdir(src):
        continue  # deleted in the work tree, or a submodule / nested repo
    os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
    shutil.copy2(src, os.path.join(dest, rel), follow_symlinks=False)
    n += 1
print(f"copied {n} files")
' "$2" "$3"
}

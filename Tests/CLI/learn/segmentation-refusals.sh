# What kswap-learn and kswap-forget refuse on a segmentation model before any training (exit 2, no
# output): a learn set with no class the model lacks, a forget set all of whose classes a retain set
# holds (nothing to forget), and a retain set with a class the model lacks.
. "$ROOT/Tests/CLI/lib.sh"
make_segmentation_swap
train=(--epochs 1 --batch-size 10)
expect 2 kswap-learn seg.st --learn retain.st --retain retain.st "${train[@]}" -o out.st
err_has "retain.st: every class in its masks (background, b, c) is already one of the model's; a learn set brings at least one new class"
expect 2 kswap-forget seg.st --forget retain-test.st --retain retain.st "${train[@]}" -o out.st
err_has "retain-test.st: every class in its masks (background, b, c) is in a retain set too; nothing would be forgotten"
expect 2 kswap-forget seg.st --forget forget.st --retain learn.st "${train[@]}" -o out.st
err_has "learn.st: class 'e' is not one of the model's 4 classes (background, a, b, c)"
[ ! -e out.st ] || fail "a refused run wrote out.st"

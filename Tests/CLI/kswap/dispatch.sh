# `kswap <verb>` runs kswap-<verb>; `kswap --help` lists the verbs found beside it and on PATH.
kswap --help > help.txt
for verb in inspect pack learn forget eval merge diff pretrain; do
  grep -q "^  $verb " help.txt
done
! grep -q '\.product' help.txt
kswap inspect --help | grep -q 'USAGE: kswap-inspect'
kswap help pack | grep -q 'USAGE: kswap-pack'
status=0; kswap no-such-verb 2> err.txt || status=$?
[ "$status" = 64 ]
grep -q "'no-such-verb' is not a kswap verb" err.txt

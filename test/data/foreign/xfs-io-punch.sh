#!/bin/sh
# A short xfs_io reproducer, run as it is: write a file, dirty it through a shared mapping, punch
# a hole under the mapping, and check that read() and the mapping both see zeros there while the
# rest keeps what the mapping wrote. Exit 0 pass, 1 fail; a metric line in daxlab's JSON format.
f=${DAXLAB_DIR:-.}/xfs-io-punch.file
rm -f "$f"
xfs_io -f -c "pwrite -q -S 0xab 0 1m" -c "fsync" "$f" || exit 2
# One xfs_io process: the mapping stays up across mwrite, msync and the punch.
out=$(xfs_io -c "mmap -rw 0 1m" -c "mwrite -S 0xcd 0 256k" -c "msync 0 256k" -c "fpunch 64k 64k" \
	-c "mread -v 65536 16" -c "pread -v 65536 16" -c "pread -v 131072 16" "$f") || exit 2
echo "$out"
# mread/pread -v print "OFFSET:  xx xx ...": the punched range must be all zeros, twice.
zero=$(echo "$out" | grep -c '^0*10000:  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00')
kept=$(echo "$out" | grep -c '^0*20000:  cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd cd')
echo "{\"type\":\"metric\",\"name\":\"zero_views\",\"value\":$zero,\"unit\":\"count\"}"
if [ "$zero" != 2 ] || [ "$kept" != 1 ]; then
	echo "punched range seen as zeros $zero of 2 times, written data kept $kept of 1" >&2
	exit 1
fi
echo "punched range reads zeros through the mapping and read(); the rest kept the mapped writes"

#!/usr/bin/env bash
# Writes small seed inputs for each fuzz target into fuzz/corpus/TARGET/.
# Seeds are generated rather than committed: a few valid files of each format, so that
# the fuzzer starts from inputs that pass the magic and header checks.
set -euo pipefail
cd "$(dirname "$0")"

mkdir -p corpus/idx corpus/npy corpus/numbers corpus/bce

# IDX: 2 images of 2 x 2 pixels, and 3 labels; raw and gzip.
printf '\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x10\x80\xff\x01\x02\x03\x04' >corpus/idx/images.idx
printf '\x00\x00\x08\x01\x00\x00\x00\x03\x07\x00\x09' >corpus/idx/labels.idx
gzip -c -n corpus/idx/images.idx >corpus/idx/images.idx.gz
gzip -c -n corpus/idx/labels.idx >corpus/idx/labels.idx.gz

# .npy: the header dictionary padded with spaces and a newline to a multiple of 64 bytes.
npy() { # version descr shape data-printf-format
    local version=$1 dict="{'descr': '$2', 'fortran_order': False, 'shape': $3, }"
    local preamble=10
    [ "$version" = 1 ] || preamble=12
    local total=$((preamble + ${#dict} + 1))
    local padded=$(((total + 63) / 64 * 64))
    local header_len=$((padded - preamble))
    printf '\x93NUMPY'
    if [ "$version" = 1 ]; then
        printf "\\x01\\x00\\x$(printf %02x $((header_len % 256)))\\x$(printf %02x $((header_len / 256)))"
    else
        printf "\\x0${version}\\x00\\x$(printf %02x $((header_len % 256)))\\x$(printf %02x $((header_len / 256)))\\x00\\x00"
    fi
    printf '%s' "$dict"
    printf '%*s\n' $((padded - total)) ''
    printf "$4"
}
npy 1 '<f8' '(2,)' '\x00\x00\x00\x00\x00\x00\xe0\x3f\x00\x00\x00\x00\x00\x00\xf0\x7f' >corpus/npy/f8.npy
npy 1 '<f4' '(1, 2)' '\x00\x00\x00\x3f\x00\x00\x80\x3f' >corpus/npy/f4-2d.npy
npy 2 '|u1' '(3,)' '\x00\x01\xff' >corpus/npy/u1-v2.npy
npy 3 '>i8' '()' '\x00\x00\x00\x00\x00\x00\x00\x07' >corpus/npy/i8-scalar-v3.npy

# Number lists: comma lists, text files and CSV.
printf '0.5,1,-inf,nan' >corpus/numbers/comma.txt
printf '\xef\xbb\xbf# comment\n0.1 0.2, 0.3,\n\n1e-50 1e39\n' >corpus/numbers/file.txt
printf 'id,p,y,w\n1,0.9,1,1\n"2, b","0.2",0,"0.5"\r\n' >corpus/numbers/columns.csv

# bce: a few byte strings for `arbitrary` to decode.
printf '\x03\x01\x10\x20\x30\x02\x00\x00\x40\x01\x02\x03\x04\x05\x06\x07' >corpus/bce/short
head -c 256 /dev/zero | tr '\0' '\001' >corpus/bce/ones

# Sourced by the test scripts: make_fake DIR N [SEED] writes a tiny
# MNIST-shaped dataset (N random 28x28 images, labels 0..9 repeating; the
# test split a copy of the training split) in the IDX files dlx reads. The
# pixels are a fixed pseudo-random stream of SEED (default 1), so a failure
# (a gradient check at a kink, say) happens on every run, not one in a hundred.
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
fake_bytes() { LC_ALL=C awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%c", int(rand() * 256) }'; }
make_fake() { # DIR N [SEED]
    local i labels=""
    mkdir -p "$1"
    for ((i = 0; i < $2; i++)); do labels+="\\x0$((i % 10))"; done
    { printf '\x00\x00\x08\x03'; printf "$(be32 "$2")$(be32 28)$(be32 28)"; fake_bytes $(($2 * 784)) "${3:-1}"; } \
        >"$1/train-images-idx3-ubyte"
    { printf '\x00\x00\x08\x01'; printf "$(be32 "$2")"; printf "$labels"; } >"$1/train-labels-idx1-ubyte"
    cp "$1/train-images-idx3-ubyte" "$1/t10k-images-idx3-ubyte"
    cp "$1/train-labels-idx1-ubyte" "$1/t10k-labels-idx1-ubyte"
}

# Sourced by the test scripts: make_fake DIR N writes a tiny MNIST-shaped
# dataset (N random 28x28 images, labels 0..9 repeating; the test split a
# copy of the training split) in the IDX files dlx reads.
be32() { printf '\\x%02x\\x%02x\\x%02x\\x%02x' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)); }
make_fake() { # DIR N
    local i labels=""
    mkdir -p "$1"
    for ((i = 0; i < $2; i++)); do labels+="\\x0$((i % 10))"; done
    { printf '\x00\x00\x08\x03'; printf "$(be32 "$2")$(be32 28)$(be32 28)"; head -c $(($2 * 784)) /dev/urandom; } \
        >"$1/train-images-idx3-ubyte"
    { printf '\x00\x00\x08\x01'; printf "$(be32 "$2")"; printf "$labels"; } >"$1/train-labels-idx1-ubyte"
    cp "$1/train-images-idx3-ubyte" "$1/t10k-images-idx3-ubyte"
    cp "$1/train-labels-idx1-ubyte" "$1/t10k-labels-idx1-ubyte"
}

// Runs an ONNX model in onnxruntime-node (CPU) on one float32 input:
//   NODE_PATH=DIR/node_modules node tests/onnx_run.js MODEL IN.f32 N,C,H,W OUT.f32
// IN.f32 holds N*C*H*W little-endian float32s; the model's first output is
// written to OUT.f32 the same way, and its shape printed as "shape D0,D1,...".
// Used by tests/export.sh to check dlx export --onnx against dlx eval.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
    const [model, input, dims, output] = process.argv.slice(2);
    if (!output) {
        console.error('usage: node onnx_run.js MODEL IN.f32 N,C,H,W OUT.f32');
        process.exit(2);
    }
    const shape = dims.split(',').map(Number);
    const buf = fs.readFileSync(input);
    const x = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    const session = await ort.InferenceSession.create(model, {executionProviders: ['cpu'], graphOptimizationLevel: 'disabled'});
    const feeds = {};
    feeds[session.inputNames[0]] = new ort.Tensor('float32', Float32Array.from(x), shape);
    const result = await session.run(feeds);
    const y = result[session.outputNames[0]];
    fs.writeFileSync(output, Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
    console.log('inputs ' + session.inputNames.join(',') + ' outputs ' + session.outputNames.join(','));
    console.log('shape ' + y.dims.join(','));
}

main().catch((e) => {
    console.error('onnxruntime: ' + (e && e.message ? e.message : e));
    process.exit(1);
});

#!/usr/bin/python3
"""Independent ONNX validation with Debian's python3-onnx (1.12: IR <= 8, opset <= 17).

Usage: /usr/bin/python3 test/onnx/check_onnx.py model.onnx [more.onnx ...]

For each path: onnx.checker.check_model(full_check=True), then
onnx.shape_inference.infer_shapes(check_type=True, strict_mode=True).
Prints "OK <path>" or "FAIL <path>: <error>" per model.
Exit codes: 0 all OK, 1 some model failed, 2 usage error, 3 the onnx package is not importable.
"""
import sys

try:
    import onnx
    from onnx import checker, shape_inference
except ImportError as e:  # pyenv's python3 does not see Debian's dist-packages
    print(f"UNAVAILABLE onnx is not importable by {sys.executable}: {e}")
    sys.exit(3)


def check(path):
    model = onnx.load(path)
    checker.check_model(model, full_check=True)
    shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    return model


def main(paths):
    if not paths:
        print(__doc__.strip())
        return 2
    failed = 0
    for path in paths:
        try:
            m = check(path)
            ops = sorted({n.op_type for n in m.graph.node})
            print(f"OK {path} (onnx {onnx.__version__}, IR {m.ir_version}, "
                  f"opset {[(o.domain or 'ai.onnx', o.version) for o in m.opset_import]}, ops {ops})")
        except Exception as e:  # checker raises ValidationError, InferenceError, DecodeError...
            failed += 1
            msg = str(e).strip().replace("\n", " | ")
            print(f"FAIL {path}: {type(e).__name__}: {msg}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

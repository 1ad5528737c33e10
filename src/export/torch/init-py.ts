// The exported Python package's __init__.py: the package's names.
// Written verbatim by src/export/torch.ts (`mtl export DIR --format torch`).
export const INIT_PY = String.raw`"""An mtl-wasm model continued in PyTorch (written by 'mtl export --format torch'); see README.md."""
from .model import MTLModel, load  # noqa: F401
from .loss import MTLLoss  # noqa: F401
`;

// The exported Python package's seq.py: token inputs, conv1d, bigru, masked pooling, the tagging head and tag_xent,
// as src/ops/seq-*.ts and assembly/kernels/gru.ts compute them. model.py and loss.py call it.
// Written verbatim by src/export/torch.ts (`mtl export DIR --format torch`).
export const SEQ_PY = String.raw`"""Token sequences in an mtl-wasm model (inputs.tokens), as mtl-wasm computes them (src/ops/seq-*.ts,
assembly/kernels/gru.ts, src/model/lower.ts):

  tokens   ids [N, L] int64: 0 padding, 1 unknown, vocab[k] is k + 2 (model.json preprocessing.tokens); a row's
           real tokens come first (right padding). mask [N, L] = (ids > 0), derived from the ids.
  embed    embedding.tokens [V, dim]: x[n, t] = table[ids[n, t]] [N, L, dim]; row 0 (padding) never trains.
  conv1d   W [filters, C, k] (ONNX Conv's layout), b [filters]: 'same' length, left pad floor(d(k-1)/2), x read as 0
           at padding; y = act(conv) at real tokens, 0 at padding (relu inside; other activations follow, unmasked).
  bigru    W [2, 3H, D], R [2, 3H, H], B [2, 6H] (ONNX GRU, gates z, r, h; B = Wb_z, Wb_r, Wb_h, Rb_z, Rb_r, Rb_h;
           direction 0 forward in time, 1 backward), linear_before_reset = 1, h_0 = 0:
             z = sigmoid(x W_z^T + Wb_z + h R_z^T + Rb_z)    r = sigmoid(x W_r^T + Wb_r + h R_r^T + Rb_r)
             c = tanh(x W_h^T + Wb_h + r * (h R_h^T + Rb_h))  h' = (1 - z) * c + z * h
           each direction over the row's real tokens only (the backward one starts at the last real token);
           y [N, L, 2H] = (forward h_t, backward h_t), 0 at padding.
  pool     a sentence-level task reads the trunk pooled over the real tokens (tasks[i].pool, default max): max per
           channel, or the mean; 0 for a row without tokens.
  tagging  head.<task> is conv1d with kernel 1 (W [tags, C, 1]): logits [N, L, tags] (0 at padding), output softmax
           per token; loss tag_xent: per-token cross-entropy averaged over the tokens whose mask is 1 and whose label
           is in [0, tags) (-1 marks an unlabelled token).
"""
import torch
import torch.nn.functional as F


def dummy_tokens(pre):
    """One row of padding ids [1, L] for a model with inputs.tokens (the module's building pass), else None."""
    return torch.zeros(1, pre["tokens"]["max_length"], dtype=torch.long) if pre.get("tokens") else None


def encode_tokens(pre, texts):
    """Token ids [N, L] int64 of texts (a string split on whitespace, or a list of tokens) as mtl-wasm encodes them
    (src/data/tokens.ts): lowercased when preprocessing.tokens.lowercase, vocab[k] → k + 2, unseen → 1, cut to L,
    padded with 0."""
    tp = pre["tokens"]
    ids = {v: k + 2 for k, v in enumerate(tp["vocab"])}
    L, low = tp["max_length"], tp.get("lowercase", False)
    out = torch.zeros(len(texts), L, dtype=torch.long)
    for i, text in enumerate(texts):
        words = text.split() if isinstance(text, str) else list(text)
        for j, w in enumerate(words[:L]):
            out[i, j] = ids.get(w.lower() if low else w, 1)
    return out


def token_mask(ids):
    """The real-token mask f32 [N, L] of ids [N, L] (1 where id > 0)."""
    return (ids > 0).to(torch.float32)


def check_right_padded(mask):
    """Raise ValueError naming the first row whose real tokens are not a prefix (bigru needs right padding)."""
    bad = (mask[:, 1:] > mask[:, :-1]).any(dim=1)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        t = int((mask[i, 1:] > mask[i, :-1]).nonzero()[0, 0]) + 1
        raise ValueError(f"tokens: row {i}: a real token at position {t} after padding; the GRU needs right padding (real tokens first)")


def token_input(m, tokens):
    """(x [N, L, dim], mask [N, L]) of token ids [N, L]: the embedding.tokens lookup (parameter declared on m), both
    in the table's dtype. Ids outside [0, V) are an error naming the row and position."""
    tok, pre = m.spec["inputs"]["tokens"], m.pre["tokens"]
    V = len(pre["vocab"]) + 2
    if tokens is None or tokens.dim() != 2:
        raise ValueError(f"tokens: expected ids [N, L] int64 (inputs.tokens, L up to {pre['max_length']}), got {None if tokens is None else list(tokens.shape)}")
    ids = tokens.long()
    bad = (ids < 0) | (ids >= V)
    if bool(bad.any()):
        i, t = (int(v) for v in bad.nonzero()[0])
        raise ValueError(f"tokens: row {i}, position {t}: token id {int(ids[i, t])} is out of range [0, {V})")
    table = m.p("embedding.tokens", (V, tok["dim"]), "shared")
    return F.embedding(ids, table, padding_idx=0), token_mask(ids).to(table.dtype)


def conv1d(x, mask, W, b, dilation=1, relu=False):
    """src/ops/seq-conv.ts: x [N, L, C], mask [N, L], W [Co, C, k], b [Co] → [N, L, Co], 0 at padding."""
    k = W.shape[2]
    pl = (dilation * (k - 1)) // 2
    pr = dilation * (k - 1) - pl
    xt = (x * mask.unsqueeze(2)).transpose(1, 2)  # [N, C, L]
    z = F.conv1d(F.pad(xt, (pl, pr)), W, b, dilation=dilation).transpose(1, 2)  # [N, L, Co]
    if relu:
        z = F.relu(z)
    return z * mask.unsqueeze(2)


def gru_direction(G, mask, R, Rb, reverse):
    """One GRU direction: G [N, L, 3H] = x W^T + Wb (gates z, r, h), mask [N, L] (right padding), R [3H, H],
    Rb [3H] → h_t [N, L, H] (0 at padding). Padding steps keep h (so the backward direction starts at 0 at the last
    real token)."""
    N, L, H3 = G.shape
    H = H3 // 3
    h = G.new_zeros(N, H)
    out = [None] * L
    steps = range(L - 1, -1, -1) if reverse else range(L)
    for t in steps:
        g = G[:, t]
        hr = h @ R.t() + Rb  # [N, 3H]
        z = torch.sigmoid(g[:, :H] + hr[:, :H])
        r = torch.sigmoid(g[:, H : 2 * H] + hr[:, H : 2 * H])
        c = torch.tanh(g[:, 2 * H :] + r * hr[:, 2 * H :])
        hn = (1 - z) * c + z * h
        m = mask[:, t].unsqueeze(1) > 0
        h = torch.where(m, hn, h)
        out[t] = torch.where(m, hn, torch.zeros_like(hn))
    return torch.stack(out, dim=1)


def bigru(x, mask, W, R, B):
    """src/ops/seq-gru.ts: x [N, L, D], mask [N, L], W [2, 3H, D], R [2, 3H, H], B [2, 6H] → [N, L, 2H]."""
    check_right_padded(mask)
    H3 = W.shape[1]
    ys = []
    for d in range(2):
        G = x @ W[d].t() + B[d, :H3]
        ys.append(gru_direction(G, mask, R[d], B[d, H3:], reverse=d == 1))
    return torch.cat(ys, dim=2)


def layer(m, x, l, at, role, mask, activations):
    """A conv1d or bigru spec layer (before its dropout) named 'at', parameters declared on m; None for other types."""
    kind = l.get("type")
    if kind not in ("conv1d", "bigru"):
        return None
    if mask is None:
        raise ValueError(f"{at}: {kind} needs token rows and their mask (inputs.tokens)")
    C = x.shape[-1]
    if kind == "bigru":
        H = l["units"]
        W = m.p(f"{at}.weight", (2, 3 * H, C), role)
        R = m.p(f"{at}.recurrence", (2, 3 * H, H), role)
        B = m.p(f"{at}.bias", (2, 6 * H), role)
        return bigru(x, mask, W, R, B)
    act = l.get("activation", "relu")
    W = m.p(f"{at}.weight", (l["filters"], C, l["kernel"]), role)
    b = m.p(f"{at}.bias", (l["filters"],), role)
    y = conv1d(x, mask, W, b, l.get("dilation", 1), relu=act == "relu")
    return y if act in ("relu", "none") else activations[act](y)


def seq_pool(x, mask, mode):
    """src/ops/seq-pool.ts: x [N, L, D], mask [N, L] → [N, D], max or mean over the real tokens (0 without any)."""
    count = mask.sum(dim=1, keepdim=True)  # [N, 1]
    if mode == "mean":
        return (x * mask.unsqueeze(2)).sum(dim=1) / count.clamp(min=1)
    if mode != "max":
        raise ValueError(f"pool: mode {mode!r} (max, mean)")
    y = x.masked_fill(mask.unsqueeze(2) <= 0, float("-inf")).amax(dim=1)
    return torch.where(count > 0, y, torch.zeros_like(y))


def tag_head(m, h, width, name, role, mask):
    """A tagging task's head: conv1d with kernel 1, logits [N, L, width] (0 at padding)."""
    W = m.p(f"{name}.weight", (width, h.shape[-1], 1), role)
    b = m.p(f"{name}.bias", (width,), role)
    return conv1d(h, mask, W, b)


def tag_xent(z, y, mask):
    """src/ops/seq-tag.ts: logits z [N, L, C], labels y [N, L] (int; -1 unlabelled), mask [N, L] → the mean
    cross-entropy over the tokens with mask > 0 and a label in [0, C); 0 when there is none."""
    C = z.shape[-1]
    y = y.long().reshape(-1)
    w = mask.to(z.dtype).reshape(-1)
    w = torch.where((y >= 0) & (y < C), w, torch.zeros_like(w))
    e = F.cross_entropy(z.reshape(-1, C), torch.where(w > 0, y, torch.zeros_like(y)), reduction="none")
    e = torch.where(w > 0, e, torch.zeros_like(e))
    total = w.sum()
    return (w * e).sum() / total if total > 0 else e.sum() * 0
`;

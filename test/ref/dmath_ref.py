# Float64 references for src/util/dmath.ts, computed with mpmath at 200 bits (independent of any libm):
#   python3 test/ref/dmath_ref.py > test/ref/dmath-ref.json      (pyenv's python3 has mpmath; Debian: python3-mpmath)
# Each case: the argument's bits (hex) and the exact value as a double-double: hi = the correctly rounded double,
# lo = the double nearest (exact − hi). test/util/dmath.test.ts measures ulp error = |(y − hi) − lo| / ulp(hi).
import json, random, struct
import mpmath

mpmath.mp.prec = 200
random.seed(20240611)

def bits(x): return struct.unpack('<Q', struct.pack('<d', x))[0]
def frombits(b): return struct.unpack('<d', struct.pack('<Q', b))[0]

FN = {
    'exp': mpmath.exp, 'log': mpmath.log, 'log1p': lambda x: mpmath.log(1 + x), 'expm1': mpmath.expm1,
    'tanh': mpmath.tanh, 'sin': mpmath.sin, 'cos': mpmath.cos,
}
def rnd_bits(lo_exp, hi_exp, sign=True):
    e = random.randint(lo_exp, hi_exp) + 1023
    m = random.getrandbits(52)
    s = random.getrandbits(1) if sign else 0
    return frombits((s << 63) | (e << 52) | m)

ARGS = {
    'exp': [random.uniform(-745, 709.7) for _ in range(300)] + [random.uniform(-1, 1) for _ in range(300)] + [rnd_bits(-60, -1) for _ in range(100)],
    'log': [rnd_bits(-1022, 1023, False) for _ in range(300)] + [random.uniform(0.5, 2) for _ in range(300)] + [frombits(random.getrandbits(52) or 1) for _ in range(50)],
    'log1p': [random.uniform(-0.999, 10) for _ in range(400)] + [rnd_bits(-60, -1) for _ in range(200)] + [rnd_bits(0, 1000, False) for _ in range(100)],
    'expm1': [random.uniform(-40, 709) for _ in range(300)] + [random.uniform(-1, 1) for _ in range(300)] + [rnd_bits(-60, -1) for _ in range(100)],
    'tanh': [random.uniform(-25, 25) for _ in range(400)] + [rnd_bits(-60, 0) for _ in range(200)],
    'sin': [random.uniform(-10, 10) for _ in range(300)] + [rnd_bits(-60, 1023) for _ in range(300)] + [rnd_bits(-30, 22) for _ in range(200)],
    'cos': [random.uniform(-10, 10) for _ in range(300)] + [rnd_bits(-60, 1023) for _ in range(300)] + [rnd_bits(-30, 22) for _ in range(200)],
}
# Arguments near multiples of pi/2, where reduction is hardest (the double nearest k*pi/2).
for k in [1, 2, 3, 4, 5, 7, 100, 1000, 10**6, 10**10, 10**15]:
    x = float(mpmath.mpf(k) * mpmath.pi / 2)
    ARGS['sin'].append(x); ARGS['cos'].append(x)
ARGS['sin'] += [1e22, 1e300, 8.98846567431158e307, 6381956970095103.0 * 2**797]
ARGS['cos'] += [1e22, 1e300, 8.98846567431158e307, 5.319372648326526e255]

out = {}
for name, xs in ARGS.items():
    cases = []
    for x in xs:
        v = FN[name](mpmath.mpf(x))
        hi = float(v)
        if hi in (float('inf'), float('-inf')) or hi == 0.0:
            continue
        lo = float(v - mpmath.mpf(hi))
        cases.append([format(bits(x), '016x'), hi, lo])
    out[name] = cases
print(json.dumps({'about': 'mpmath (200-bit) references for src/util/dmath.ts; regenerate: python3 test/ref/dmath_ref.py > test/ref/dmath-ref.json', 'mpmath': mpmath.__version__, 'cases': out}, separators=(',', ':')))

#!/usr/bin/python3
"""Independent reference for a residual (no_reslink = 0) network, in plain torch.

Builds the `bottleneck` structure of the golden cases (docs/semantics.md#super-blocks, docs/semantics.md#residual-wrappers, layer
order §2) WITH its shortcuts from nn.Conv2d / nn.BatchNorm2d(eps 1e-3) /
nn.ReLU / nn.Linear only (no ZenNAS code), with module names equal to
MasterNet's qualified names, and computes what the official T-CET code
computes (tests/data/golden/README.md, "Semantics the C code must reproduce"):
layer-wise NASWOT (eval mode, conv/linear output codes, Gram, numpy
slogdet), SNIP saliencies (train mode, mean cross-entropy), Synflow
saliencies (BN removed everywhere incl. the projection BN, |state_dict|,
float64, all-ones input), the per-layer sum/std/ratio/log/term and both
T-CET totals; also TE-NAS (NTK of the stored weights on /aux/tenas_input,
drawn after torch.manual_seed(2)) and ZiCo (two halves of /input), the two
baselines that use the weights as stored.  Writes the subset of the golden layout (layout_version 1)
that tcet reads, with root attribute no_reslink = 0.

Weights: torch.manual_seed(0) immediately before construction, modules
constructed in MasterNet's order (a wrapper's inner layers, then its
projection conv (with bias) and BN; the FC last), PyTorch default init.
Input: torch.randn(N,3,R,R) then torch.randint(0,C,(N,)) from
torch.Generator().manual_seed(1).

Self-checks (both must pass before a file is written):
  * the reference counters (docs/semantics.md#reference-counters: get_model_size, get_FLOPs, layers) and
    the true parameter count equal docs/semantics.md#self-check-counts's bottleneck_reslink numbers
    40 305 / 3 510 656 / 5 / 40 970, with 23 layers and
    module_list.1.module_list.0.proj.0 right after
    module_list.1.module_list.0.module_list.6.netblock;
  * --check-plain GOLDEN.h5 builds the same script WITHOUT shortcuts and
    compares with the official no_reslink file of that structure (weights,
    input, labels, TE-NAS input bit for bit; Gram exact; T-CET, TE-NAS, ZiCo) -- this validates
    the construction order, the data draw and every formula of the script.

Usage (needs torch; the test suite does not):
  /usr/bin/python3 tests/tools/make_reslink_case.py OUT.h5 [--check-plain tests/data/golden/bottleneck.h5]
"""
import argparse
import copy
import math
import sys

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STRUCTURE = ("SuperConvK3BNRELU(3,16,1,1)SuperResK1K3K1(16,32,2,8,1)"
             "SuperResK1K5K1(32,48,2,16,2)SuperConvK1BNRELU(48,64,1,1)")
BLOCKS = [  # (family, in, out, stride, kernel, btl, sub_layers)
    ("conv", 3, 16, 1, 3, None, 1),
    ("k1kxk1", 16, 32, 2, 3, 8, 1),
    ("k1kxk1", 32, 48, 2, 5, 16, 2),
    ("conv", 48, 64, 1, 1, None, 1),
]
CLASSES, N, R = 10, 8, 32
BN_EPS = 1e-3


# ---- modules whose attribute names reproduce MasterNet's qualified names ----

class Leaf(nn.Module):          # ConvKX / BN / Linear: child "netblock"
    def __init__(self, layer):
        super().__init__()
        self.netblock = layer

    def forward(self, x):
        return self.netblock(x)


class Relu(nn.Module):          # RELU(c): no child
    def forward(self, x):
        return F.relu(x)


class Res(nn.Module):
    """y = inner(x) + proj(x) or inner(x) + x (docs/semantics.md#residual-wrappers); the RELU after it
    is the next element of the super block's list."""
    def __init__(self, inner, cin, cout, stride, first):
        super().__init__()
        self.module_list = nn.ModuleList(inner)   # registered (and built) before proj
        if first or stride > 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=True),
                                      nn.BatchNorm2d(cout, eps=BN_EPS))
        else:
            self.proj = None

    def forward(self, x):
        y = x
        for m in self.module_list:
            y = m(y)
        return y + (self.proj(x) if self.proj is not None else x)


class Super(nn.Module):
    def __init__(self, elems):
        super().__init__()
        self.module_list = nn.ModuleList(elems)

    def forward(self, x):
        for m in self.module_list:
            x = m(x)
        return x


class Master(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.module_list = nn.ModuleList(blocks)
        self.fc_linear = Leaf(nn.Linear(BLOCKS[-1][2], CLASSES, bias=True))

    def forward(self, x):
        for b in self.module_list:
            x = b(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc_linear(x)


def cbr(cin, cout, k, s, relu):
    el = [Leaf(nn.Conv2d(cin, cout, k, s, (k - 1) // 2, bias=False)),
          Leaf(nn.BatchNorm2d(cout, eps=BN_EPS))]
    if relu:
        el.append(Relu())
    return el


def build(reslink):
    """Modules are constructed in MasterNet's order, so the default-init draws
    come in that order too (inner layers of a wrapper before its projection)."""
    blocks = []
    for fam, cin, cout, stride, k, btl, L in BLOCKS:
        elems = []
        last, s = cin, stride
        for i in range(L):
            if fam == "conv":
                elems += cbr(last, cout, k, s, True)
            else:
                for a_in, a_s, first in ((last, s, i == 0), (cout, 1, False)):
                    inner = cbr(a_in, btl, 1, 1, True) + cbr(btl, btl, k, a_s, True) + \
                        cbr(btl, cout, 1, 1, False)
                    if reslink:
                        elems.append(Res(inner, a_in, cout, a_s, first))
                    else:
                        elems += inner
                    elems.append(Relu())
            last, s = cout, 1
        blocks.append(Super(elems))
    return Master(blocks)


# ---- reference counters (docs/semantics.md#reference-counters), walked from the module tree ----

def counters(model):
    params, flops, r = 0.0, 0.0, R

    def walk(elems, r):
        p = f = 0.0
        for m in elems:
            if isinstance(m, Leaf) and isinstance(m.netblock, nn.Conv2d):
                c = m.netblock
                k, s, g = c.kernel_size[0], c.stride[0], c.groups
                p += c.in_channels * c.out_channels * k * k // g
                f += c.in_channels * c.out_channels * k * k * r * r // (s * s) // g
                r = r // s
            elif isinstance(m, Leaf) and isinstance(m.netblock, nn.BatchNorm2d):
                p += m.netblock.num_features
                f += r * r * m.netblock.num_features
            elif isinstance(m, Res):
                ip, iflops, r_out = walk(m.module_list, r)
                p += ip
                f += iflops
                if m.proj is not None:
                    c = m.proj[0]
                    stride = c.stride[0]
                    p += c.in_channels * c.out_channels + c.out_channels
                    # real arithmetic, r_out already divided by the stride (docs/semantics.md#reference-counters quirk)
                    f += (c.in_channels * c.out_channels + c.out_channels) * (r_out / stride) ** 2
                r = r_out
        return p, f, r

    for b in model.module_list:
        p, f, r = walk(b.module_list, r)
        params += p
        flops += f
    fc = model.fc_linear.netblock
    params += fc.in_features * fc.out_features + 1
    flops += fc.in_features * fc.out_features
    layers = sum(b[6] for b in BLOCKS)
    return params, flops, layers


def scored_layers(model):
    return [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


# ---- T-CET parts ----

def naswot_layerwise(model, x):
    net = copy.deepcopy(model)
    net.eval()
    outs = []
    hooks = [m.register_forward_hook(lambda mod, i, o: outs.append(o.detach()))
             for _, m in scored_layers(net)]
    with torch.no_grad():
        net(x)
    for h in hooks:
        h.remove()
    a, grams, ranks = [], [], []
    for o in outs:
        c = (o.view(o.shape[0], -1) > 0).float()
        M = c @ c.t() + (1.0 - c) @ (1.0 - c).t()
        Mn = M.numpy()
        grams.append(Mn.astype(np.int32))
        ranks.append(np.linalg.matrix_rank(Mn))
        if c.sum() == 0:
            a.append(0)
            continue
        sign, logdet = np.linalg.slogdet(Mn)
        a.append(0 if (sign == 0 and logdet == -np.inf) else logdet)
    return a, np.stack(grams), np.array(ranks, dtype=np.int64)


def snip_saliencies(model, x, labels):
    net = copy.deepcopy(model)
    net.train()
    net.zero_grad()
    loss = F.cross_entropy(net(x), labels)
    loss.backward()
    return [(m.weight * m.weight.grad).abs().detach() for _, m in scored_layers(net)], float(loss)


def synflow_saliencies(model):
    net = copy.deepcopy(model)
    for m in net.modules():          # bn = False: every BN is the identity (projection BN too)
        if isinstance(m, nn.BatchNorm2d):
            m.forward = lambda x: x
    with torch.no_grad():
        for _, p in net.state_dict().items():
            p.abs_()
    net = net.double()
    net.zero_grad()
    out = net(torch.ones(1, 3, R, R, dtype=torch.float64))
    torch.sum(out).backward()
    return [(m.weight * m.weight.grad).abs().detach() for _, m in scored_layers(net)], float(out.sum())


def te_nas(model, x):
    """compute_NTK_score (README "TE-NAS"): train mode, one forward of x, per
    sample the gradient of Σ_k logit[n,k] w.r.t. every parameter whose name
    contains 'weight' (conv incl. projection, BN γ incl. projection BN, FC),
    NTK = J Jᵀ (float32), eigenvalues of the upper triangle, -nan_to_num(cond)."""
    net = copy.deepcopy(model)
    net.train()
    out = net(x)
    params = [p for n, p in net.named_parameters() if "weight" in n]
    rows = []
    for i in range(x.shape[0]):
        net.zero_grad()
        out[i:i + 1].backward(torch.ones_like(out[i:i + 1]), retain_graph=True)
        rows.append(torch.cat([p.grad.reshape(-1) for p in params]))
    J = torch.stack(rows)
    ntk = torch.einsum("nc,mc->nm", J, J)
    ev = torch.linalg.eigvalsh(ntk, UPLO="U")
    cond = (ev[-1] / ev[0]).item()
    return -1 * np.nan_to_num(cond), ev.numpy(), np.linalg.eigvalsh(ntk.numpy().astype(np.float64))


def zico(model, x, labels):
    """getzico of ZiCo HEAD with the README's convention (two halves of the
    batch, zero_grad per batch, gradients copied as on a GPU)."""
    net = copy.deepcopy(model)
    net.train()
    h = x.shape[0] // 2
    grads = {}
    for xb, yb in ((x[:h], labels[:h]), (x[h:], labels[h:])):
        net.zero_grad()
        F.cross_entropy(net(xb), yb).backward()
        for n, m in scored_layers(net):
            grads.setdefault(n, []).append(m.weight.grad.data.reshape(-1).numpy().copy())
    acc = 0
    for n in grads:
        a = np.array(grads[n])
        std = np.std(a, axis=0)
        nz = np.nonzero(std)[0]
        tmpsum = np.sum(np.mean(np.abs(a), axis=0)[nz] / std[nz])
        if tmpsum != 0:
            acc += np.log(tmpsum)
    return acc


def tcet(saliencies, a):
    """compute_orthogornal_score's loop (README): per layer sum/std/ratio/log/term, np.sum."""
    stats = {k: [] for k in ("sum", "std", "ratio", "log", "term")}
    terms = []
    for s, al in zip(saliencies, a):
        s = s.view(-1)
        sm, sd = torch.sum(s), torch.std(s)
        r = sm if sd == 0 else sm / sd
        lg = torch.log(r) if r != 0 else r
        term = lg * al
        terms.append(term.numpy())
        for k, v in (("sum", sm), ("std", sd), ("ratio", r), ("log", lg), ("term", term)):
            stats[k].append(float(v))
    return np.sum(terms), stats


def make(reslink):
    torch.manual_seed(0)
    model = build(reslink)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(N, 3, R, R, generator=gen)
    labels = torch.randint(0, CLASSES, (N,), generator=gen)
    a, gram, rank = naswot_layerwise(model, x)
    snip, loss = snip_saliencies(model, x, labels)
    syn, synR = synflow_saliencies(model)
    t_snip, st_snip = tcet(snip, a)
    t_syn, st_syn = tcet(syn, a)
    torch.manual_seed(2)                 # aux seed: TE-NAS's only draw is its input
    tenas_x = torch.randn((N, 3, R, R))
    tn, tn_ev, tn_ev64 = te_nas(model, tenas_x)
    zc = zico(model, x, labels)
    return dict(tenas_x=tenas_x, te_nas=tn, tn_ev=tn_ev, tn_ev64=tn_ev64, zico=zc, model=model, x=x, labels=labels, a=a, gram=gram, rank=rank, snip=snip, syn=syn,
                t_snip=t_snip, t_syn=t_syn, st_snip=st_snip, st_syn=st_syn, loss=loss, synR=synR)


def check_plain(path):
    """The same script without shortcuts against the official no_reslink file."""
    d = make(reslink=False)
    with h5py.File(path, "r") as f:
        assert f.attrs["structure"].decode() == STRUCTURE and int(f.attrs["no_reslink"]) == 1
        assert np.array_equal(f["/input"][()], d["x"].numpy()), "input differs"
        assert np.array_equal(f["/labels"][()], d["labels"].numpy()), "labels differ"
        names = [n.decode() for n in f["/params_order"][()]]
        sd = d["model"].state_dict()
        keys = [k for k in sd if not k.endswith("num_batches_tracked")]
        assert names == keys, "state_dict order differs"
        for i, k in enumerate(keys):
            assert np.array_equal(f["/params/%04d_%s" % (i, k)][()], sd[k].numpy()), k
        assert np.array_equal(f["/expected/naswot/gram"][()], d["gram"]), "Gram differs"
        ea = f["/expected/naswot/layerwise"][()]
        assert np.array_equal(ea, np.array(d["a"], dtype=np.float32)), (ea, d["a"])
        es, ey = float(f["/expected/tcet_snip"][()]), float(f["/expected/tcet_synflow"][()])
        print("check-plain: T-CET(SNIP) %r vs official %r; T-CET(Synflow) %r vs official %r"
              % (d["t_snip"], es, d["t_syn"], ey))
        assert abs(d["t_snip"] - es) <= 1e-5 * abs(es) and abs(d["t_syn"] - ey) <= 1e-12 * abs(ey)
        et, ez = float(f["/expected/other/te_nas"][()]), float(f["/expected/other/zico"][()])
        print("check-plain: TE-NAS %r vs official %r; ZiCo %r vs official %r" % (d["te_nas"], et, d["zico"], ez))
        assert np.array_equal(f["/aux/tenas_input"][()], d["tenas_x"].numpy()), "TE-NAS input differs"
        # float32 train-mode gradients differ from the official run by ~2e-6 of a
        # layer's max on this CPU (oneDNN code path); ZiCo's mean|g|/std ratios
        # amplify that (golden README: ~1e-4 is a safe tolerance)
        assert abs(d["te_nas"] - et) <= 1e-5 * abs(et) and abs(d["zico"] - ez) <= 1e-4 * abs(ez)
        for k in ("sum", "std"):
            assert np.allclose(d["st_snip"][k], f["/expected/snip/" + k][()], rtol=1e-5, atol=0)
            assert np.allclose(d["st_syn"][k], f["/expected/synflow/" + k][()], rtol=1e-12, atol=0)
    print("check-plain: weights, input, labels, layer names, Gram, NASWOT bit-identical; "
          "per-layer SNIP/Synflow statistics within 1e-5 / 1e-12")


def S(strings):
    n = max(len(s) for s in strings)
    return np.array([s.encode() for s in strings], dtype="S%d" % n)


def write(path, d):
    model = d["model"]
    params, flops, layers = counters(model)
    torch_params = sum(p.numel() for p in model.parameters())
    lay = scored_layers(model)
    names = [n for n, _ in lay]
    print("counters: model_size %d FLOPs %d layers %d torch params %d; %d scored layers"
          % (params, flops, layers, torch_params, len(lay)))
    # docs/semantics.md#self-check-counts (bottleneck_reslink)
    assert (params, flops, layers, torch_params, len(lay)) == (40305, 3510656, 5, 40970, 23)
    i = names.index("module_list.1.module_list.0.module_list.6.netblock")
    assert names[i + 1] == "module_list.1.module_list.0.proj.0"

    sd = model.state_dict()
    keys = [k for k in sd if not k.endswith("num_batches_tracked")]
    # input / output sizes of every scored layer by hooks
    hw = {}
    hooks = [m.register_forward_hook(lambda mod, inp, out, n=n: hw.__setitem__(n, (inp[0].shape, out.shape)))
             for n, m in lay]
    with torch.no_grad():
        copy.deepcopy(model).eval()
        model.eval()
        model(d["x"])
        model.train()
    for h in hooks:
        h.remove()

    with h5py.File(path, "w") as f:
        at = f.attrs
        for k, v in (("case", "bottleneck_reslink"), ("structure", STRUCTURE), ("input_kind", "randn"),
                     ("torch_version", torch.__version__), ("numpy_version", np.__version__),
                     ("edit", "none"), ("str_model", STRUCTURE),
                     ("note", "independent plain-torch reference WITH shortcuts "
                              "(tests/tools/make_reslink_case.py), not the official code")):
            at[k] = np.bytes_(v)
        for k, v in (("resolution", R), ("num_classes", CLASSES), ("batch_size", N), ("no_reslink", 0),
                     ("no_create", 0), ("weight_seed", 0), ("input_seed", 1), ("aux_seed", 2),
                     ("torch_num_threads", torch.get_num_threads()), ("layout_version", 1)):
            at[k] = np.int64(v)
        at["bn_eps"] = np.float64(BN_EPS)
        at["bn_momentum"] = np.float64(0.1)
        f["/input"] = d["x"].numpy()
        f["/labels"] = d["labels"].numpy().astype(np.int64)
        for i, k in enumerate(keys):
            f["/params/%04d_%s" % (i, k)] = sd[k].numpy()
        f["/params_order"] = S(keys)
        L = len(lay)
        conv = [m if isinstance(m, nn.Conv2d) else None for _, m in lay]
        f["/layers/name"] = S(names)
        f["/layers/weight_param"] = S([n + ".weight" for n in names])
        f["/layers/kind"] = S(["conv" if c is not None else "linear" for c in conv])
        f["/layers/in_channels"] = np.array([c.in_channels if c is not None else m.in_features
                                             for c, (_, m) in zip(conv, lay)], dtype=np.int64)
        f["/layers/out_channels"] = np.array([c.out_channels if c is not None else m.out_features
                                              for c, (_, m) in zip(conv, lay)], dtype=np.int64)
        # the FC row: kernel 1, stride 1, padding 0, groups 1 (as the official files)
        for fld, fn, fc in (("kernel", lambda c: c.kernel_size[0], 1), ("stride", lambda c: c.stride[0], 1),
                            ("padding", lambda c: c.padding[0], 0), ("groups", lambda c: c.groups, 1)):
            f["/layers/" + fld] = np.array([fn(c) if c is not None else fc for c in conv], dtype=np.int64)
        f["/layers/has_bias"] = np.array([int(m.bias is not None) for _, m in lay], dtype=np.int64)
        f["/layers/in_hw"] = np.array([hw[n][0][-1] if len(hw[n][0]) == 4 else 1 for n in names],
                                      dtype=np.int64)
        f["/layers/out_hw"] = np.array([hw[n][1][-1] if len(hw[n][1]) == 4 else 1 for n in names],
                                       dtype=np.int64)
        f["/layers/numel"] = np.array([m.weight.numel() for _, m in lay], dtype=np.int64)
        f["/layers/code_dim"] = np.array([int(np.prod(hw[n][1][1:])) for n in names], dtype=np.int64)
        f["/expected/naswot/layerwise"] = np.array(d["a"], dtype=np.float32)
        f["/expected/naswot/gram"] = d["gram"]
        f["/expected/naswot/gram_rank"] = d["rank"]
        f["/expected/naswot/python_type"] = S(["int" if isinstance(v, int) else "float32" for v in d["a"]])
        for met, st, dt in (("snip", d["st_snip"], np.float32), ("synflow", d["st_syn"], np.float64)):
            for k in ("sum", "std", "ratio", "log", "term"):
                f["/expected/%s/%s" % (met, k)] = np.array(st[k], dtype=dt)
            f["/expected/%s/numel" % met] = np.array([m.weight.numel() for _, m in lay], dtype=np.int64)
        f["/expected/tcet_snip"] = np.float32(d["t_snip"])
        f["/expected/tcet_synflow"] = np.float64(d["t_syn"])
        f["/expected/synflow_total_foresight"] = np.float64(sum(float(s.sum()) for s in d["syn"]))
        f["/expected/params_model_size"] = np.float64(params)
        f["/expected/flops"] = np.float64(flops)
        f["/expected/num_layers"] = np.int64(layers)
        f["/expected/torch_param_count"] = np.int64(torch_params)
        f["/aux/tenas_input"] = d["tenas_x"].numpy()
        f["/expected/other/te_nas"] = np.float64(d["te_nas"])
        f["/expected/other/te_nas_eigenvalues"] = d["tn_ev"].astype(np.float32)
        f["/expected/other/te_nas_eigenvalues_f64"] = d["tn_ev64"]
        f["/expected/other/zico"] = np.float64(d["zico"])
        f["/expected/derived/snip_loss"] = np.float64(d["loss"])
        f["/expected/derived/synflow_R"] = np.float64(d["synR"])
    print("T-CET(SNIP) %r  T-CET(Synflow) %r  TE-NAS %r  ZiCo %r  NASWOT %s  Gram ranks %s"
          % (d["t_snip"], d["t_syn"], d["te_nas"], d["zico"], np.array(d["a"], dtype=np.float32), d["rank"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--check-plain", metavar="GOLDEN_H5")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.check_plain:
        check_plain(args.check_plain)
    write(args.out, make(reslink=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())

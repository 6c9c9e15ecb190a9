"""Brian2 lowering of conductance-based populations (``ConductanceLIFParams``).

The equations are written from the population's fields (``neuroattn.neurons.conductance
.describe``): one ``g_<receptor>`` per exponential receptor, the adaptation conductance
``g_a``, an ``x<k>``/``s<k>`` pair per presynaptic gating set and an ``xd<k>``/``sd<k>``
pair per Poisson drive onto a saturating receptor; the method is ``euler`` as the
description prescribes. Saturating (NMDA) input is ``sum_j w_j s_j``: a sparse projection
writes it into a ``(summed)`` variable of its own; a dense one (``AllToAll``, one weight)
sums the source's ``s`` once per trial into a hub group (one element per trial) that
the targets read through a linked variable (the same sum, without n_source x n_target
synapses). A dense exponential projection likewise adds its weight per source spike
to one decaying conductance per trial (a hub element) that the targets read.
"""

from __future__ import annotations

import numpy as np

from neuroattn.model import AllToAll
from neuroattn.neurons.conductance import MG_SCALE, MG_SLOPE, describe

__all__ = ["plan", "build_conductance"]


def _dense(pr) -> bool:
    return isinstance(pr.rule, AllToAll) and np.ndim(pr.weight) == 0 and (
        pr.rule.autapses or pr.source != pr.target)


def plan(spec):
    """Gating sets ``{(source, kinetics): k}`` per source and drive gates per population."""
    net = spec.network
    sets: dict = {}
    for pr in net.projections:
        tgt = net.population(pr.target)
        if getattr(tgt.params, "kind", None) != "conductance":
            continue
        rec = tgt.params.receptor(pr.receptor)
        if rec.kind == "saturating":
            per = sets.setdefault(pr.source, {})
            per.setdefault(rec.kinetics, len(per))
    gates: dict = {}
    if spec.stimulus is not None:
        for n, d in enumerate(spec.stimulus.drives):
            if d.kind == "poisson" and d.receptor is not None:
                rec = net.population(d.population).params.receptor(d.receptor)
                if rec.kind == "saturating":
                    gates.setdefault(d.population, []).append(n)
    return sets, gates


def build_conductance(spec, trials, b2, clock, v0, table_fn, lookup_fn):
    """NeuronGroups, hubs and Synapses of every conductance-based population of ``spec``.

    Returns ``(groups, objects)``; ``groups`` maps population -> NeuronGroup (for the
    recorder); ``objects`` holds every Brian2 object to add to the network.
    ``table_fn(spec, drive, trials, poisson)`` and ``lookup_fn(name, table)`` are the
    backend's stimulus-table helpers.
    """
    net = spec.network
    n_b = len(trials)
    sets, gates = plan(spec)
    pops = [p for p in net.populations if getattr(p.params, "kind", None) == "conductance"]
    drives = spec.stimulus.drives if spec.stimulus is not None else ()
    groups, objects, sat_terms = {}, [], {p.name: {} for p in pops}
    linked = []   # (target population, variable, gating key)
    summed = []   # (projection index, variable)
    for j, pr in enumerate(net.projections):
        tgt = net.population(pr.target)
        if tgt.name not in sat_terms:
            continue
        rec = tgt.params.receptor(pr.receptor)
        if rec.kind != "saturating":
            continue
        k = sets[pr.source][rec.kinetics]
        if _dense(pr):
            var = f"hub_{pr.source}_{k}"
            if (tgt.name, var) not in [(a, b) for a, b, _ in linked]:
                linked.append((tgt.name, var, (pr.source, k)))
            term = f"w_p{j}*{var}"
        else:
            var = f"g_{rec.name}_p{j}"
            summed.append((j, var))
            term = var
        sat_terms[tgt.name].setdefault(rec.name, []).append(term)
    shared = {}  # (target, receptor) -> [projection index] of dense exponential projections
    for j, pr in enumerate(net.projections):
        if pr.target in sat_terms and _dense(pr):
            rec = net.population(pr.target).params.receptor(pr.receptor)
            if rec.kind == "exponential":
                shared.setdefault((pr.target, rec.name), []).append(j)
    for p in pops:
        par = p.params
        kin = sorted(sets.get(p.name, {}).items(), key=lambda kv: kv[1])
        dg = gates.get(p.name, [])
        fields = describe(par, [k for k, _ in kin], [drives[n].receptor for n in dg])
        ns = {"c_m": par.c_m * b2.farad, "g_l": par.g_l * b2.siemens, "e_l": par.e_l * b2.volt,
              "v_th": par.v_th * b2.volt, "v_reset": par.v_reset * b2.volt,
              "t_ref": par.t_ref * b2.second, "i_bias": par.i_bias * b2.amp,
              "tau_adapt": par.tau_adapt * b2.second, "e_adapt": par.e_adapt * b2.volt,
              "delta_g_adapt": par.delta_g_adapt * b2.siemens}
        lines, currents, reset = [], [], ["v = v_reset"]
        for r in par.receptors:
            ns[f"e_{r.name}"] = r.e_rev * b2.volt
            if r.kind == "exponential":
                ns[f"tau_{r.name}"] = r.tau_decay * b2.second
                lines.append(f"dg_{r.name}/dt = -g_{r.name}/tau_{r.name} : siemens")
                g = f"g_{r.name}"
                if (p.name, r.name) in shared:
                    lines.append(f"gs_{r.name} : siemens (linked)")
                    g = f"(g_{r.name} + gs_{r.name})"
            else:
                terms = list(sat_terms[p.name].get(r.name, []))
                for k, n in enumerate(dg):
                    if drives[n].receptor == r.name:
                        ns[f"w_d{k}"] = drives[n].weight * b2.siemens
                        terms.append(f"w_d{k}*sd{k}")
                g = "(" + (" + ".join(terms) if terms else "0*nS") + ")"
            block = (f"/(1 + {r.mg!r}*exp(-{MG_SLOPE!r}*v/volt)/{MG_SCALE!r})"
                     if r.mg > 0 else "")
            currents.append(f"{g}*(e_{r.name} - v){block}")
        lines.append("dg_a/dt = -g_a/tau_adapt : siemens")
        reset.append("g_a += delta_g_adapt")
        for f in fields:
            if f.kind == "gating_x":
                k = f.name[1:] if f.name.startswith("x") and not f.name.startswith("xd") else None
                s_name = "s" + f.name[1:] if k is not None else "sd" + f.name[2:]
                tag = f.name
                ns[f"tau_r_{tag}"] = f.params[0] * b2.second
                lines.append(f"d{f.name}/dt = -{f.name}/tau_r_{tag} : 1")
                if k is not None:
                    reset.append(f"{f.name} += 1")
            elif f.kind == "gating_s":
                x_name = "x" + f.name[1:] if not f.name.startswith("sd") else "xd" + f.name[2:]
                ns[f"tau_d_{f.name}"] = f.params[0] * b2.second
                ns[f"alpha_{f.name}"] = f.params[1] * b2.hertz
                lines.append(f"d{f.name}/dt = -{f.name}/tau_d_{f.name} + alpha_{f.name}*"
                             f"{x_name}*(1 - {f.name}) : 1")
        for j, var in summed:
            if net.projections[j].target == p.name:
                lines.append(f"{var} : siemens")
        for tname, var, _ in linked:
            if tname == p.name:
                lines.append(f"{var} : 1 (linked)")
        for j, pr in enumerate(net.projections):
            if pr.target == p.name and _dense(pr):
                ns[f"w_p{j}"] = float(pr.weight) * b2.siemens
        syn = " + ".join(currents) if currents else "0*amp"
        eqs = "\n".join([f"dv/dt = (g_l*(e_l - v) + g_a*(e_adapt - v) + i_bias + i_ext + "
                         f"i_syn)/c_m : volt (unless refractory)",
                         f"i_syn = {syn} : amp", *lines, "i_ext : amp",
                         "trial : integer (constant)"])
        cur = [d for d in drives if d.population == p.name and d.kind == "current"]
        cur_code = None
        if cur:
            table = sum(table_fn(spec, d, trials, False) for d in cur)
            ns["i_ext_table"] = b2.TimedArray(table * b2.amp, dt=spec.stimulus.dt * b2.second,
                                              name=f"{p.name}_i_ext_table")
            cur_code = f"i_ext = {lookup_fn('i_ext_table', table)}"
        pois = []
        for n, d in enumerate(drives):
            if d.population != p.name or d.kind != "poisson":
                continue
            table = table_fn(spec, d, trials, True)
            name = f"rate_table{n}"
            ns[name] = b2.TimedArray(table * b2.Hz, dt=spec.stimulus.dt * b2.second,
                                     name=f"{p.name}_{name}")
            draw = f"poisson({lookup_fn(name, table)}*dt)"
            if n in dg:
                pois.append(f"xd{dg.index(n)} += {draw}")
            else:
                ns[f"w_drive{n}"] = d.weight * b2.siemens
                pois.append(f"g_{d.receptor} += w_drive{n}*{draw}")
        g = b2.NeuronGroup(n_b * p.size, eqs, threshold="v > v_th", reset="\n".join(reset),
                           refractory="t_ref", method="euler", namespace=ns, clock=clock,
                           name=f"pop_{p.name}")
        g.v = v0[p.name] * b2.volt
        g.trial = np.repeat(np.arange(n_b), p.size)
        if cur_code is not None:
            g.run_regularly(cur_code, when="start", name=f"pop_{p.name}_i_ext")
        if pois:
            g.run_regularly("\n".join(pois), when="synapses", name=f"pop_{p.name}_poisson")
        groups[p.name] = g
        objects.append(g)
    # hubs: one element per trial holding sum_j s_j of a gating set
    hubs = {}
    for _, _, key in linked:
        if key in hubs:
            continue
        src, k = key
        size = net.population(src).size
        hub = b2.NeuronGroup(n_b, "S : 1", clock=clock, name=f"hub_{src}_{k}")
        sy = b2.Synapses(groups[src], hub, model=f"S_post = s{k}_pre : 1 (summed)", clock=clock,
                         name=f"hubsum_{src}_{k}")
        sy.connect(i=np.arange(n_b * size), j=np.repeat(np.arange(n_b), size))
        hubs[key] = hub
        objects += [hub, sy]
    for tname, var, key in linked:
        size = net.population(tname).size
        setattr(groups[tname], var, b2.linked_var(hubs[key], "S",
                                                  index=np.repeat(np.arange(n_b), size)))
    # dense exponential projections: one conductance per trial, in a hub that decays like
    # the per-neuron ones and updates after the groups (the numba engine's shared ``GS``)
    for (tname, rname), projs in shared.items():
        tau = net.population(tname).params.receptor(rname).tau_decay
        hub = b2.NeuronGroup(n_b, "dG/dt = -G/tau_hub : siemens", method="euler", clock=clock,
                             namespace={"tau_hub": tau * b2.second}, order=1,
                             name=f"hubg_{tname}_{rname}")
        objects.append(hub)
        for j in projs:
            pr = net.projections[j]
            size = net.population(pr.source).size
            sy = b2.Synapses(groups[pr.source], hub, on_pre="G_post += w_hub", clock=clock,
                             namespace={"w_hub": float(pr.weight) * b2.siemens},
                             name=f"proj{j}_{pr.source}_to_{tname}_shared")
            sy.connect(i=np.arange(n_b * size), j=np.repeat(np.arange(n_b), size))
            objects.append(sy)
        setattr(groups[tname], f"gs_{rname}", b2.linked_var(
            hub, "G", index=np.repeat(np.arange(n_b), net.population(tname).size)))
    sizes = {p.name: p.size for p in net.populations}
    offs = np.arange(n_b)[:, None]
    for j, pr in enumerate(net.projections):
        tgt = net.population(pr.target)
        if pr.target not in groups:
            continue
        rec = tgt.params.receptor(pr.receptor)
        if _dense(pr):  # summed into a hub above
            continue
        pre, post, w = pr.connections(sizes[pr.source], sizes[pr.target])
        if pre.size == 0:
            continue
        i = (pre[None, :] + offs * sizes[pr.source]).ravel()
        jj = (post[None, :] + offs * sizes[pr.target]).ravel()
        if rec.kind == "saturating":
            k = sets[pr.source][rec.kinetics]
            sy = b2.Synapses(groups[pr.source], groups[pr.target],
                             model=f"w : siemens\ng_{rec.name}_p{j}_post = w*s{k}_pre : siemens "
                                   "(summed)", clock=clock,
                             name=f"proj{j}_{pr.source}_to_{pr.target}")
        else:
            sy = b2.Synapses(groups[pr.source], groups[pr.target], model="w : siemens",
                             on_pre=f"g_{rec.name}_post += w", clock=clock,
                             name=f"proj{j}_{pr.source}_to_{pr.target}")
        sy.connect(i=i, j=jj)
        sy.w = np.tile(np.abs(w), n_b) * b2.siemens
        objects.append(sy)
    return groups, objects

// Weighted tallying bandits: one independent run per invocation, advanced by up to
// `chunk` rounds per dispatch (so no dispatch runs long); the run's state lives in `state`
// between dispatches. Rust reference: src/labs/bandits/sim.rs `RunState::step` (same state,
// same integer arithmetic, same draws: src/rng.rs `hash3`), so both play the same actions.
//
// Invocation i runs algorithm (algos >> 4 * (i / runs)) & 15 on run i % runs (the run index is
// the noise stream: all algorithms see common random numbers).
//
// State words per invocation: 0 t, 1 cumulative expected loss, 2 history head, 3 next
// checkpoint, 4 active set, 5 phase, 6 block arm, 7 position in block, 8 window length,
// 9 window head, 10 batch probability, 11 batch loss sum (i32), 16..23 history (4 bits per round), 24..39 n, 40..55 sums (i32), 56..71 EXP3 g.

const WG_SIZE: u32 = 64u;
const STATE_WORDS: u32 = 72u;
const LOSS_ONE: i32 = 4096;
const OBS_LIMIT: i32 = 16384;
const TABLE_LEN: u32 = 1025u;
const EXP_BINS: u32 = 8192u;
const EXP3_STREAM: u32 = 0x5bd1e995u;
const BATCHED_EXP3_STREAM: u32 = 0x27d4eb2fu;

const ALGO_WTB_SE: u32 = 0u;
const ALGO_SE: u32 = 1u;
const ALGO_UCB1: u32 = 2u;
const ALGO_EXP3: u32 = 3u;
const ALGO_SW_UCB: u32 = 4u;
const ALGO_BATCHED_EXP3: u32 = 5u;
const ALGO_ORACLE: u32 = 6u;

struct Params {
    runs: u32,
    n_inv: u32,
    arms: u32,
    memory: u32,
    bound: u32,
    horizon: u32,
    chunk: u32,
    seed: u32,
    a_star: u32,
    window: u32,
    gaussian: u32,
    algos: u32,
    gamma16: u32,
    eta16: u32,
    n_checkpoints: u32,
    off_weights: u32,
    off_noise: u32,
    off_thr: u32,
    off_lnt: u32,
    off_inv: u32,
    off_exp: u32,
    off_cp: u32,
    batch_len: u32,
    batch_gamma16: u32,
    batch_eta16: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> state: array<u32>;
@group(0) @binding(1) var<storage, read> tables: array<u32>;
@group(0) @binding(2) var<storage, read_write> ring: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<u32>;
@group(0) @binding(4) var<uniform> p: Params;

var<private> hist: array<u32, 8>;
var<private> n: array<u32, 16>;
var<private> s: array<i32, 16>;
var<private> g: array<u32, 16>;

// hash32, hash3, unit: shaders/lib/hash.wgsl (prepended).

fn tally_of(arm: u32, head: u32, t: u32) -> u32 {
    let m = p.memory;
    var tally = 0u;
    var index = head;
    for (var j = 0u; j < min(m, t); j++) {
        index = select(index - 1u, m - 1u, index == 0u);
        let h = (hist[index >> 3u] >> ((index & 7u) * 4u)) & 15u;
        if (h == arm) {
            tally += tables[p.off_weights + j];
        }
    }
    return tally;
}

fn ucb_choice(ln_round: u32) -> u32 {
    var best_arm = 0u;
    var best = 2147483647;
    for (var a = 0u; a < p.arms; a++) {
        let count = n[a];
        if (count == 0u) {
            return a;
        }
        let bonus = (tables[p.off_lnt + ln_round] * tables[p.off_inv + count]) >> 12u;
        let index = s[a] / i32(count) - i32(bonus);
        if (index < best) {
            best = index;
            best_arm = a;
        }
    }
    return best_arm;
}

// EXP3's draw with exploration rate gamma16 on draw stream `stream`; returns (arm, its
// probability in 2^-16 units).
fn exp3_choice(gamma16: u32, stream: u32, run: u32, t: u32) -> vec2<u32> {
    var w: array<u32, 16>;
    var total_w = 0u;
    for (var a = 0u; a < p.arms; a++) {
        let bin = min(g[a] >> 8u, EXP_BINS - 1u);
        w[a] = tables[p.off_exp + bin] >> 4u;
        total_w += w[a];
    }
    var pr: array<u32, 16>;
    var total_p = 0u;
    for (var a = 0u; a < p.arms; a++) {
        pr[a] = (65536u - gamma16) * w[a] / total_w + gamma16 / p.arms;
        total_p += pr[a];
    }
    let u = ((hash3(stream, run, t) >> 16u) * total_p) >> 16u;
    var cumulative = 0u;
    for (var a = 0u; a < p.arms; a++) {
        cumulative += pr[a];
        if (u < cumulative) {
            return vec2<u32>(a, pr[a]);
        }
    }
    return vec2<u32>(p.arms - 1u, pr[p.arms - 1u]);
}

// EXP3's importance-weighted update of `arm` with `loss` (loss units, in [0, 1]).
fn exp3_update(eta16: u32, arm: u32, loss: u32, prob: u32) {
    n[arm] += 1u;
    g[arm] = min(g[arm] + eta16 * loss * 16u / max(prob, 1u), 16777216u);
    var low = g[0];
    for (var a = 1u; a < p.arms; a++) {
        low = min(low, g[a]);
    }
    for (var a = 0u; a < p.arms; a++) {
        g[a] -= low;
    }
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(workgroup_id) wg: vec3<u32>,
    @builtin(num_workgroups) groups: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let inv = (wg.x + wg.y * groups.x) * WG_SIZE + lid;
    if (inv >= p.n_inv) {
        return;
    }
    let run = inv % p.runs;
    let algo = (p.algos >> (4u * (inv / p.runs))) & 15u;
    let base = inv * STATE_WORDS;
    var t = state[base];
    if (t >= p.horizon) {
        return;
    }
    var loss_cum = state[base + 1u];
    var head = state[base + 2u];
    var next_cp = state[base + 3u];
    var active_set = state[base + 4u];
    var phase = state[base + 5u];
    var block_arm = state[base + 6u];
    var pos = state[base + 7u];
    var ring_len = state[base + 8u];
    var ring_head = state[base + 9u];
    var batch_p = state[base + 10u];
    var batch_sum = bitcast<i32>(state[base + 11u]);
    for (var i = 0u; i < 8u; i++) {
        hist[i] = state[base + 16u + i];
    }
    for (var a = 0u; a < 16u; a++) {
        n[a] = state[base + 24u + a];
        s[a] = bitcast<i32>(state[base + 40u + a]);
        g[a] = state[base + 56u + a];
    }
    if (t == 0u) {
        active_set = (1u << p.arms) - 1u;
    }
    let ring_base = run * p.window;
    let end = min(t + p.chunk, p.horizon);
    loop {
        if (t >= end) {
            break;
        }
        var arm = 0u;
        var exp3_p = 1u;
        switch algo {
            case ALGO_WTB_SE, ALGO_SE: {
                arm = block_arm;
            }
            case ALGO_UCB1: {
                arm = ucb_choice(t);
            }
            case ALGO_SW_UCB: {
                arm = ucb_choice(min(t, p.window));
            }
            case ALGO_EXP3: {
                let choice = exp3_choice(p.gamma16, p.seed ^ EXP3_STREAM, run, t);
                arm = choice.x;
                exp3_p = choice.y;
            }
            case ALGO_BATCHED_EXP3: {
                if (pos == 0u) {
                    let choice = exp3_choice(p.batch_gamma16, p.seed ^ BATCHED_EXP3_STREAM, run, t);
                    block_arm = choice.x;
                    batch_p = choice.y;
                }
                arm = block_arm;
            }
            default: {
                arm = p.a_star;
            }
        }
        let tally = tally_of(arm, head, t);
        let mean_q = bitcast<i32>(tables[arm * TABLE_LEN + ((tally + 32u) >> 6u)]);
        let h = hash3(p.seed, run, t);
        var observed = 0;
        if (p.gaussian != 0u) {
            let noise = bitcast<i32>(tables[p.off_noise + (h >> 20u)]);
            observed = clamp(mean_q + noise, -OBS_LIMIT, OBS_LIMIT);
        } else if ((h >> 8u) < (u32(mean_q) << 12u)) {
            observed = LOSS_ONE;
        }

        if (algo == ALGO_WTB_SE || algo == ALGO_SE) {
            var skip = 0u;
            var kept = 1u;
            if (algo == ALGO_WTB_SE) {
                skip = p.bound;
                kept = p.bound << min(phase, 20u);
            }
            if (pos >= skip) {
                n[arm] += 1u;
                s[arm] += observed;
            }
            pos += 1u;
            if (pos >= skip + kept) {
                pos = 0u;
                let later = active_set & ~((2u << arm) - 1u);
                if (later != 0u) {
                    block_arm = countTrailingZeros(later);
                } else {
                    if (countOneBits(active_set) > 1u) {
                        let first = countTrailingZeros(active_set);
                        let threshold = i32(tables[p.off_thr + n[first]]);
                        var best = 2147483647;
                        for (var b = 0u; b < p.arms; b++) {
                            if ((active_set & (1u << b)) != 0u) {
                                best = min(best, s[b]);
                            }
                        }
                        for (var b = 0u; b < p.arms; b++) {
                            if ((active_set & (1u << b)) != 0u && s[b] - best > threshold) {
                                active_set &= ~(1u << b);
                            }
                        }
                    }
                    phase += 1u;
                    block_arm = countTrailingZeros(active_set);
                }
            }
        } else if (algo == ALGO_UCB1) {
            n[arm] += 1u;
            s[arm] += observed;
        } else if (algo == ALGO_SW_UCB) {
            let slot = ring_base + ring_head;
            if (ring_len == p.window) {
                let old = ring[slot];
                let old_arm = old & 15u;
                n[old_arm] -= 1u;
                s[old_arm] -= i32(old >> 4u) - OBS_LIMIT;
            } else {
                ring_len += 1u;
            }
            ring[slot] = arm | (u32(observed + OBS_LIMIT) << 4u);
            ring_head = select(ring_head + 1u, 0u, ring_head + 1u == p.window);
            n[arm] += 1u;
            s[arm] += observed;
        } else if (algo == ALGO_EXP3) {
            exp3_update(p.eta16, arm, u32(clamp(observed, 0, LOSS_ONE)), exp3_p);
        } else if (algo == ALGO_BATCHED_EXP3) {
            batch_sum += observed;
            pos += 1u;
            if (pos < p.batch_len) {
                n[arm] += 1u;
            } else {
                let mean = u32(clamp(batch_sum / i32(p.batch_len), 0, LOSS_ONE));
                exp3_update(p.batch_eta16, arm, mean, batch_p);
                pos = 0u;
                batch_sum = 0;
            }
        } else {
            n[arm] += 1u;
        }

        // Push the action into the history ring.
        let word = head >> 3u;
        let shift = (head & 7u) * 4u;
        hist[word] = (hist[word] & ~(15u << shift)) | (arm << shift);
        head = select(head + 1u, 0u, head + 1u == p.memory);
        loss_cum += u32(mean_q);
        t += 1u;
        if (next_cp < p.n_checkpoints && t == tables[p.off_cp + next_cp]) {
            out[inv * p.n_checkpoints + next_cp] = loss_cum;
            next_cp += 1u;
        }
    }
    state[base] = t;
    state[base + 1u] = loss_cum;
    state[base + 2u] = head;
    state[base + 3u] = next_cp;
    state[base + 4u] = active_set;
    state[base + 5u] = phase;
    state[base + 6u] = block_arm;
    state[base + 7u] = pos;
    state[base + 8u] = ring_len;
    state[base + 9u] = ring_head;
    state[base + 10u] = batch_p;
    state[base + 11u] = bitcast<u32>(batch_sum);
    for (var i = 0u; i < 8u; i++) {
        state[base + 16u + i] = hist[i];
    }
    for (var a = 0u; a < 16u; a++) {
        state[base + 24u + a] = n[a];
        state[base + 40u + a] = bitcast<u32>(s[a]);
        state[base + 56u + a] = g[a];
    }
}

// Sums over a team of TEAM consecutive invocations (a row's threads), in workgroup memory: the
// fallback where the adapter has no subgroup operations. The including shader defines WG_SIZE
// and TEAM (a power of two dividing WG_SIZE). Every invocation must call these (barriers); the
// result is valid on the team's first invocation (lid % TEAM == 0).

var<workgroup> team_partial_f32: array<f32, WG_SIZE>;
var<workgroup> team_partial_u32: array<u32, WG_SIZE>;

fn team_sum_f32(acc: f32, lid: u32) -> f32 {
    // Orders an earlier call's reads before this call's writes.
    workgroupBarrier();
    team_partial_f32[lid] = acc;
    workgroupBarrier();
    let lane = lid % TEAM;
    for (var stride = TEAM / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            team_partial_f32[lid] += team_partial_f32[lid + stride];
        }
        workgroupBarrier();
    }
    return team_partial_f32[lid];
}

fn team_sum_u32(acc: u32, lid: u32) -> u32 {
    workgroupBarrier();
    team_partial_u32[lid] = acc;
    workgroupBarrier();
    let lane = lid % TEAM;
    for (var stride = TEAM / 2u; stride > 0u; stride >>= 1u) {
        if (lane < stride) {
            team_partial_u32[lid] += team_partial_u32[lid + stride];
        }
        workgroupBarrier();
    }
    return team_partial_u32[lid];
}

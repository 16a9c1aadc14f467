// Sums over a team of TEAM consecutive invocations (a row's threads) with subgroup operations
// (wgpu's SUBGROUP feature): one subgroupAdd, then the team's first invocation adds one value
// per subgroup of its team (TEAM / subgroup size values, one when they are equal). The
// including shader defines WG_SIZE and TEAM, and the host sets TEAM to at least the adapter's
// largest subgroup size, so a subgroup never straddles two teams. The subgroup's size is
// counted with subgroupAdd(1u), which needs no entry-point builtins. Every invocation must call
// these (barrier); the result is valid on the team's first invocation.

var<workgroup> team_partial_f32: array<f32, WG_SIZE>;
var<workgroup> team_partial_u32: array<u32, WG_SIZE>;

fn team_sum_f32(acc: f32, lid: u32) -> f32 {
    let sum = subgroupAdd(acc);
    let size = subgroupAdd(1u);
    workgroupBarrier();
    team_partial_f32[lid] = sum;
    workgroupBarrier();
    var total = 0.0;
    if (lid % TEAM == 0u) {
        for (var i = 0u; i < TEAM; i += size) {
            total += team_partial_f32[lid + i];
        }
    }
    return total;
}

fn team_sum_u32(acc: u32, lid: u32) -> u32 {
    let sum = subgroupAdd(acc);
    let size = subgroupAdd(1u);
    workgroupBarrier();
    team_partial_u32[lid] = sum;
    workgroupBarrier();
    var total = 0u;
    if (lid % TEAM == 0u) {
        for (var i = 0u; i < TEAM; i += size) {
            total += team_partial_u32[lid + i];
        }
    }
    return total;
}

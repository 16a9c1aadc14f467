//! Marginalization-model lab (issue 7, in progress): so far the Ising target in plain Rust —
//! the lattice energy, partial assignments as queries, exact log Z and exact log-marginals by
//! enumeration for L <= 4, and a Gibbs sampler for larger lattices. The MaM networks, training,
//! GPU batched queries, the page and the CLI are still to come.

pub mod ising;
pub mod partial;

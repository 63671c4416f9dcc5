//! Exact splitting of money by a payment plan (`shared/design/money.md`).
//!
//! Amounts are counted in minor units (`scale` decimals, 2 for NOK/DKK/SEK/EUR) and every
//! computation is exact integer arithmetic on them: a share `s` is turned into an integer
//! weight `w` over the plan's total weight `W`, the exact part of `u` units is `u · w / W`, and
//! fractions are compared as numerators over that common `W`. No float, no intermediate
//! rounding.
//!
//! - [`split_amount`] splits one amount by **largest remainder**.
//! - [`split_table`] splits several product-group amounts at once by **controlled
//!   rounding**: columns (groups) reconcile exactly, rows (parts) stay within one minor unit
//!   of their exact share, and every cell is the floor or the ceiling of its exact share.
//!
//! Both take the plan as percentages summing to exactly 100; the `_by_weights` variants take
//! any non-negative weights (`[1, 2]` is thirds), which also expresses shares that have no
//! finite decimal form.

use std::fmt;

use rust_decimal::Decimal;

/// What is wrong with a split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SplitErrorKind {
    /// The plan has no parts, or every weight is zero.
    EmptyPlan,
    /// A share or weight below zero.
    NegativeShare,
    /// Percent shares that do not sum to exactly 100.
    SharesNot100,
    /// An amount with more decimals than the currency's minor unit, or a scale above 28.
    NotMinorUnits,
    /// A number too large for the exact arithmetic.
    Overflow,
    /// No controlled rounding was found. Cannot happen (one always exists); reported rather
    /// than returning an unreconciled table.
    NoRounding,
}

/// A split that cannot be done: a kind to branch on and a message for the export log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SplitError {
    /// What went wrong.
    pub kind: SplitErrorKind,
    /// Says what went wrong, in the rule author's terms.
    pub message: String,
}

impl SplitError {
    fn new(kind: SplitErrorKind, message: impl Into<String>) -> Self {
        SplitError {
            kind,
            message: message.into(),
        }
    }

    fn overflow() -> Self {
        Self::new(
            SplitErrorKind::Overflow,
            "the split is too large for exact arithmetic",
        )
    }
}

impl fmt::Display for SplitErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SplitErrorKind::EmptyPlan => "empty-plan",
            SplitErrorKind::NegativeShare => "negative-share",
            SplitErrorKind::SharesNot100 => "shares-not-100",
            SplitErrorKind::NotMinorUnits => "not-minor-units",
            SplitErrorKind::Overflow => "overflow",
            SplitErrorKind::NoRounding => "no-rounding",
        })
    }
}

/// Splits `total` by `shares` (percentages summing to exactly 100) into parts of `scale`
/// decimals by **largest remainder**: each part gets the floor of its exact share, then the
/// leftover minor units go one each to the parts with the largest remainders (ties: the
/// earlier part). The parts sum to `total` exactly and each is within one minor unit of its
/// exact share.
///
/// Negative totals are split by **sign symmetry**: the absolute value is split and the sign
/// restored, so `split(-t) == -split(t)` part by part (the leftover units go away from zero).
pub fn split_amount(
    total: Decimal,
    shares: &[Decimal],
    scale: u32,
) -> Result<Vec<Decimal>, SplitError> {
    check_percentages(shares)?;
    split_amount_by_weights(total, shares, scale)
}

/// [`split_amount`] with the plan as non-negative weights (`[1, 1, 1]` is thirds): part `i`'s
/// exact share is `total · w[i] / Σw`. Same rounding: largest remainder, ties to the
/// earlier part, sign symmetry for negative totals.
pub fn split_amount_by_weights(
    total: Decimal,
    weights: &[Decimal],
    scale: u32,
) -> Result<Vec<Decimal>, SplitError> {
    let plan = Plan::new(weights)?;
    largest_remainder(to_units(total, scale)?, &plan)?
        .into_iter()
        .map(|units| from_units(units, scale))
        .collect()
}

/// `units` split by `plan` by largest remainder (ties to the earlier part, sign symmetry).
fn largest_remainder(units: i128, plan: &Plan) -> Result<Vec<i128>, SplitError> {
    let magnitude = units.unsigned_abs();
    let mut parts = Vec::with_capacity(plan.weights.len());
    let mut handed_out: u128 = 0;
    for &weight in &plan.weights {
        let (floor, remainder) = mul_div(magnitude, weight, plan.total);
        handed_out = handed_out
            .checked_add(floor)
            .ok_or_else(SplitError::overflow)?;
        parts.push((floor, remainder));
    }
    // Fewer than one unit per part is left, since every remainder is below one unit.
    let leftover = magnitude - handed_out;
    let mut order: Vec<usize> = (0..parts.len()).collect();
    // Stable sort: equal remainders keep plan order, so ties go to the earlier part.
    order.sort_by(|&a, &b| parts[b].1.cmp(&parts[a].1));
    for &i in order
        .iter()
        .take(usize::try_from(leftover).unwrap_or(usize::MAX))
    {
        parts[i].0 += 1;
    }
    parts
        .into_iter()
        .map(|(units_of_part, _)| {
            let signed = i128::try_from(units_of_part).map_err(|_| SplitError::overflow())?;
            Ok(if units < 0 { -signed } else { signed })
        })
        .collect()
}

/// Splits every product-group amount of `groups` by `shares` (percentages summing to exactly
/// 100) at once, as the table `[part][group]` of `scale`-decimal amounts, by **controlled
/// rounding** (money.md):
/// 1. every column sums exactly to its group amount;
/// 2. every row sums to within one minor unit of `total · share` (`total` = the sum of the
///    groups), and the rows sum to `total`;
/// 3. every cell is the floor or the ceiling of its exact share `group · share`.
///
/// Fixing the rows first (largest remainder on the total) and then rounding the cells can be
/// infeasible, so the rows are not fixed in advance. Instead, as a flow:
/// - every cell starts at the **mathematical floor** of its exact share (for a negative
///   group, such as a discount, that is the value further from zero); its fractional part
///   `f ∈ [0, 1)` is what rounding up would add;
/// - each column then lacks a whole number of units `Σ f` (its leftover), and each row may
///   take `⌊Σ f⌋` or `⌈Σ f⌉` of them (it must take the floor and may take one more);
/// - a min-cost flow routes the columns' leftovers to the rows through cells with `f > 0`
///   (capacity one unit each), first making every row take at least its floor, then giving
///   the extra units to the rows largest remainder on the total rounds up (so the rows are
///   [`split_amount`]'s parts of the total whenever some rounding of the cells has them,
///   which is nearly always), then preferring cells with the largest fractional parts (which minimises the total distance
///   from the exact table), then earlier parts for positive groups and later parts for
///   negative ones (so a single column splits exactly as [`split_amount`] does, sign
///   symmetry included).
///
/// A flow that satisfies all three conditions always exists for a two-dimensional table
/// (Bacharach 1966, Cox 1987); the result is checked before it is returned anyway.
pub fn split_table(
    groups: &[Decimal],
    shares: &[Decimal],
    scale: u32,
) -> Result<Vec<Vec<Decimal>>, SplitError> {
    check_percentages(shares)?;
    split_table_by_weights(groups, shares, scale)
}

/// [`split_table`] with the plan as non-negative weights (`[3, 2, 2, 3, 2]` is 1/4, 1/6, 1/6,
/// 1/4, 1/6). Same controlled rounding.
pub fn split_table_by_weights(
    groups: &[Decimal],
    weights: &[Decimal],
    scale: u32,
) -> Result<Vec<Vec<Decimal>>, SplitError> {
    let plan = Plan::new(weights)?;
    let group_units = groups
        .iter()
        .map(|g| to_units(*g, scale))
        .collect::<Result<Vec<_>, _>>()?;
    let table = controlled_rounding(&group_units, &plan)?;
    table
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| from_units(cell, scale))
                .collect()
        })
        .collect()
}

/// Shares given as percentages must be a plan of exactly 100 %.
fn check_percentages(shares: &[Decimal]) -> Result<(), SplitError> {
    let mut sum = Decimal::ZERO;
    for share in shares {
        sum = sum.checked_add(*share).ok_or_else(SplitError::overflow)?;
    }
    if !shares.is_empty() && sum != Decimal::ONE_HUNDRED {
        return Err(SplitError::new(
            SplitErrorKind::SharesNot100,
            format!("the shares of a split must total 100 %, these total {sum} %"),
        ));
    }
    Ok(())
}

/// The largest total weight handled (after reduction): percentages of up to 28 decimals
/// stay below it (100 · 10²⁸ < 2¹⁰⁰), and flow costs built from fractions below it cannot
/// overflow i128.
const MAX_TOTAL_WEIGHT: u128 = 1 << 100;

/// A plan as integer weights over their total, reduced by their common divisor.
struct Plan {
    weights: Vec<u128>,
    total: u128,
}

impl Plan {
    fn new(shares: &[Decimal]) -> Result<Plan, SplitError> {
        if shares.is_empty() {
            return Err(SplitError::new(
                SplitErrorKind::EmptyPlan,
                "a split needs at least one part",
            ));
        }
        if let Some(negative) = shares.iter().find(|s| s.is_sign_negative() && !s.is_zero()) {
            return Err(SplitError::new(
                SplitErrorKind::NegativeShare,
                format!("a split cannot have a negative share ({negative})"),
            ));
        }
        let normalized: Vec<Decimal> = shares.iter().map(Decimal::normalize).collect();
        let common_scale = normalized.iter().map(Decimal::scale).max().unwrap_or(0);
        let mut weights = Vec::with_capacity(normalized.len());
        for share in &normalized {
            let mantissa = u128::try_from(share.mantissa()).map_err(|_| SplitError::overflow())?;
            let weight = 10u128
                .checked_pow(common_scale - share.scale())
                .and_then(|factor| mantissa.checked_mul(factor))
                .ok_or_else(SplitError::overflow)?;
            weights.push(weight);
        }
        let divisor = weights.iter().fold(0, |d, w| gcd(d, *w));
        if divisor == 0 {
            return Err(SplitError::new(
                SplitErrorKind::EmptyPlan,
                "every part of the split has a zero share",
            ));
        }
        let weights: Vec<u128> = weights.into_iter().map(|w| w / divisor).collect();
        let total = weights
            .iter()
            .try_fold(0u128, |sum, w| sum.checked_add(*w))
            .ok_or_else(SplitError::overflow)?;
        if total > MAX_TOTAL_WEIGHT {
            return Err(SplitError::overflow());
        }
        Ok(Plan { weights, total })
    }

    /// The exact share `units · w / W` of part `part` as its mathematical floor and the
    /// numerator (over `W`) of its fractional part.
    fn share(&self, units: i128, part: usize) -> Result<(i128, u128), SplitError> {
        let (quotient, remainder) = mul_div(units.unsigned_abs(), self.weights[part], self.total);
        let quotient = i128::try_from(quotient).map_err(|_| SplitError::overflow())?;
        Ok(match (units < 0, remainder) {
            (false, _) => (quotient, remainder),
            (true, 0) => (-quotient, 0),
            (true, _) => (-quotient - 1, self.total - remainder),
        })
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `amount` as a whole number of minor units of `scale` decimals.
fn to_units(amount: Decimal, scale: u32) -> Result<i128, SplitError> {
    if scale > 28 {
        return Err(SplitError::new(
            SplitErrorKind::NotMinorUnits,
            format!("a currency has at most 28 decimals, not {scale}"),
        ));
    }
    let amount = amount.normalize();
    if amount.scale() > scale {
        return Err(SplitError::new(
            SplitErrorKind::NotMinorUnits,
            format!("{amount} has more decimals than the currency's {scale}"),
        ));
    }
    10i128
        .checked_pow(scale - amount.scale())
        .and_then(|factor| amount.mantissa().checked_mul(factor))
        .ok_or_else(SplitError::overflow)
}

/// `units` minor units as a decimal with exactly `scale` decimals (`12.50`).
fn from_units(units: i128, scale: u32) -> Result<Decimal, SplitError> {
    Decimal::try_from_i128_with_scale(units, scale).map_err(|_| SplitError::overflow())
}

/// `⌊a · b / c⌋` and `a · b mod c` exactly, for `b ≤ c` (so the quotient is at most `a`)
/// and `c > 0`, through a 256-bit product when `a · b` does not fit 128 bits.
fn mul_div(a: u128, b: u128, c: u128) -> (u128, u128) {
    if let Some(product) = a.checked_mul(b) {
        return (product / c, product % c);
    }
    const LOW: u128 = u64::MAX as u128;
    let (a_high, a_low) = (a >> 64, a & LOW);
    let (b_high, b_low) = (b >> 64, b & LOW);
    let low_low = a_low * b_low;
    let low_high = a_low * b_high;
    let high_low = a_high * b_low;
    let middle = (low_low >> 64) + (low_high & LOW) + (high_low & LOW);
    let low = (low_low & LOW) | (middle << 64);
    let high = a_high * b_high + (low_high >> 64) + (high_low >> 64) + (middle >> 64);
    // Long division of (high, low) by c; `high < c` because the quotient fits in 128 bits.
    let (mut quotient, mut remainder) = (0u128, high);
    for bit in (0..128).rev() {
        let carry = remainder >> 127;
        remainder = (remainder << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if carry == 1 || remainder >= c {
            remainder = remainder.wrapping_sub(c);
            quotient |= 1;
        }
    }
    (quotient, remainder)
}

/// The controlled rounding of `groups` (in minor units) by `plan`, as `[part][group]` units.
fn controlled_rounding(groups: &[i128], plan: &Plan) -> Result<Vec<Vec<i128>>, SplitError> {
    let parts = plan.weights.len();
    let mut floors = vec![vec![0i128; groups.len()]; parts];
    let mut fractions = vec![vec![0u128; groups.len()]; parts];
    let mut column_leftover = vec![0i64; groups.len()];
    for (g, &group) in groups.iter().enumerate() {
        let mut floor_sum: i128 = 0;
        for p in 0..parts {
            let (floor, fraction) = plan.share(group, p)?;
            floors[p][g] = floor;
            fractions[p][g] = fraction;
            floor_sum = floor_sum
                .checked_add(floor)
                .ok_or_else(SplitError::overflow)?;
        }
        // Σ fractions / W: a whole number below the number of parts.
        column_leftover[g] =
            i64::try_from(group - floor_sum).map_err(|_| SplitError::overflow())?;
    }
    // Each row must take ⌊Σf⌋ of the leftover units and may take one more when Σf is not whole.
    let mut row_floor = vec![0i64; parts];
    let mut row_extra = vec![0i64; parts];
    for p in 0..parts {
        let sum = fractions[p]
            .iter()
            .try_fold(0u128, |s, f| s.checked_add(*f))
            .ok_or_else(SplitError::overflow)?;
        row_floor[p] = i64::try_from(sum / plan.total).map_err(|_| SplitError::overflow())?;
        row_extra[p] = i64::from(sum % plan.total != 0);
    }

    // The rows largest remainder gives the total: the parts a plain split of the total
    // would show, preferred whenever a rounding of the cells can have them.
    let total = groups
        .iter()
        .try_fold(0i128, |sum, g| sum.checked_add(*g))
        .ok_or_else(SplitError::overflow)?;
    let rows_first = largest_remainder(total, plan)?;

    // Nodes: source, parts, groups, sink.
    let source = 0;
    let part_node = |p: usize| 1 + p;
    let group_node = |g: usize| 1 + parts + g;
    let sink = 1 + parts + groups.len();
    let mut network = Network::new(sink + 1);
    for p in 0..parts {
        network.add(source, part_node(p), row_floor[p], Cost::MANDATORY);
        let floor_units = floors[p]
            .iter()
            .try_fold(i128::from(row_floor[p]), |sum, f| sum.checked_add(*f))
            .ok_or_else(SplitError::overflow)?;
        let extra = if rows_first[p] > floor_units {
            Cost::ROWS_FIRST
        } else {
            Cost::ZERO
        };
        network.add(source, part_node(p), row_extra[p], extra);
    }
    let mut cell_edges = vec![vec![None; groups.len()]; parts];
    for (g, &group) in groups.iter().enumerate() {
        for p in 0..parts {
            let fraction = fractions[p][g];
            if fraction == 0 {
                continue;
            }
            let order = if group < 0 { parts - 1 - p } else { p };
            let cost = Cost {
                // `fraction < W ≤ MAX_TOTAL_WEIGHT`, so path sums of these stay far inside i128.
                fraction: -i128::try_from(fraction).map_err(|_| SplitError::overflow())?,
                order: i64::try_from(order).map_err(|_| SplitError::overflow())?,
                ..Cost::ZERO
            };
            cell_edges[p][g] = Some(network.add(part_node(p), group_node(g), 1, cost));
        }
        network.add(group_node(g), sink, column_leftover[g], Cost::ZERO);
    }
    network.min_cost_max_flow(source, sink);

    let mut table = floors;
    let mut row_taken = vec![0i64; parts];
    let mut column_taken = vec![0i64; groups.len()];
    for p in 0..parts {
        for g in 0..groups.len() {
            if let Some(edge) = cell_edges[p][g] {
                let flow = network.flow(edge);
                table[p][g] += i128::from(flow);
                row_taken[p] += flow;
                column_taken[g] += flow;
            }
        }
    }
    let rows_ok = (0..parts)
        .all(|p| row_taken[p] >= row_floor[p] && row_taken[p] <= row_floor[p] + row_extra[p]);
    if !rows_ok || column_taken != column_leftover {
        return Err(SplitError::new(
            SplitErrorKind::NoRounding,
            "internal error: no controlled rounding was found for this split",
        ));
    }
    Ok(table)
}

/// A flow's cost, compared lexicographically: first how many units the rows' mandatory
/// floors take (more is better), then how many rows get the extra unit largest remainder on
/// the total gives them (more is better: the parts are then exactly a plain split of the
/// total, when some rounding of the cells allows it), then the fractional parts of the
/// cells rounded up (larger is better), then the tie-breaking order. A tuple instead of one
/// weighted integer, so no weight has to dominate the others numerically and nothing can
/// overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Cost {
    mandatory: i64,
    rows_first: i64,
    fraction: i128,
    order: i64,
}

impl Cost {
    const ZERO: Cost = Cost {
        mandatory: 0,
        rows_first: 0,
        fraction: 0,
        order: 0,
    };
    const MANDATORY: Cost = Cost {
        mandatory: -1,
        ..Cost::ZERO
    };
    const ROWS_FIRST: Cost = Cost {
        rows_first: -1,
        ..Cost::ZERO
    };

    fn plus(self, other: Cost) -> Cost {
        Cost {
            mandatory: self.mandatory + other.mandatory,
            rows_first: self.rows_first + other.rows_first,
            fraction: self.fraction + other.fraction,
            order: self.order + other.order,
        }
    }

    fn negated(self) -> Cost {
        Cost {
            mandatory: -self.mandatory,
            rows_first: -self.rows_first,
            fraction: -self.fraction,
            order: -self.order,
        }
    }
}

/// A residual network for min-cost flow by successive shortest paths (Bellman–Ford queue,
/// since costs are negative). Sizes here are parts × groups, so `O(units · V · E)` is small.
struct Network {
    /// Per node, the indices of its edges in `edges`.
    adjacent: Vec<Vec<usize>>,
    /// Edges in pairs: `2k` forward, `2k + 1` its residual reverse.
    edges: Vec<Edge>,
}

struct Edge {
    to: usize,
    capacity: i64,
    cost: Cost,
}

impl Network {
    fn new(nodes: usize) -> Self {
        Network {
            adjacent: vec![Vec::new(); nodes],
            edges: Vec::new(),
        }
    }

    /// Adds an edge and returns its index; zero-capacity edges are added too (harmless).
    fn add(&mut self, from: usize, to: usize, capacity: i64, cost: Cost) -> usize {
        let index = self.edges.len();
        self.edges.push(Edge { to, capacity, cost });
        self.edges.push(Edge {
            to: from,
            capacity: 0,
            cost: cost.negated(),
        });
        self.adjacent[from].push(index);
        self.adjacent[to].push(index + 1);
        index
    }

    /// The flow on forward edge `index`: the capacity its reverse edge has gained.
    fn flow(&self, index: usize) -> i64 {
        self.edges[index + 1].capacity
    }

    fn min_cost_max_flow(&mut self, source: usize, sink: usize) {
        let nodes = self.adjacent.len();
        loop {
            let mut distance: Vec<Option<Cost>> = vec![None; nodes];
            let mut via: Vec<Option<usize>> = vec![None; nodes];
            let mut queued = vec![false; nodes];
            let mut queue = std::collections::VecDeque::from([source]);
            distance[source] = Some(Cost::ZERO);
            queued[source] = true;
            while let Some(node) = queue.pop_front() {
                queued[node] = false;
                let Some(here) = distance[node] else { continue };
                for &e in &self.adjacent[node] {
                    let edge = &self.edges[e];
                    if edge.capacity <= 0 {
                        continue;
                    }
                    let there = here.plus(edge.cost);
                    if distance[edge.to].is_none_or(|d| there < d) {
                        distance[edge.to] = Some(there);
                        via[edge.to] = Some(e);
                        if !queued[edge.to] {
                            queued[edge.to] = true;
                            queue.push_back(edge.to);
                        }
                    }
                }
            }
            if distance[sink].is_none() {
                return;
            }
            // The bottleneck along the path, then push it.
            let mut amount = i64::MAX;
            let mut node = sink;
            while let Some(e) = via[node] {
                amount = amount.min(self.edges[e].capacity);
                node = self.edges[e ^ 1].to;
            }
            let mut node = sink;
            while let Some(e) = via[node] {
                self.edges[e].capacity -= amount;
                self.edges[e ^ 1].capacity += amount;
                node = self.edges[e ^ 1].to;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mul_div_is_exact_beyond_128_bits() {
        let a = u128::MAX / 3;
        let (q, r) = mul_div(a, 10u128.pow(30), 10u128.pow(30) + 7);
        // a · b = q · c + r, checked in halves through the identity's remainder bound.
        assert!(r < 10u128.pow(30) + 7);
        assert!(q <= a);
        let (q2, r2) = mul_div(12345, 6789, 1000);
        assert_eq!((q2, r2), (83810, 205));
        let (q3, r3) = mul_div(u128::MAX, 5, 5);
        assert_eq!((q3, r3), (u128::MAX, 0));
    }
}

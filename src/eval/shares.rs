//! What `part.share(x)` answers inside a split: the cells of one controlled-rounding table
//! (`shared/design/money.md`) instead of each line rounded on its own.
//!
//! A split's body states its lines once and runs once per part, so the table's columns (the
//! amounts `part.share` is given) are only known by running it. The runtime therefore runs
//! the first part as a **probe**, which records the amounts in the order the body asks for
//! them, computes the table with [`super::split_table`], and runs every part again with that
//! part's row as its **cells**. Each amount takes the next cell recorded for it, so two
//! product groups of the same amount still get their own columns as long as the parts ask in
//! the same order (a body that asks differently per part gets the simple rounding for the
//! amounts the probe did not see).

use std::{
    cell::RefCell,
    collections::{HashMap, VecDeque},
};

use rust_decimal::Decimal;

/// The state of one split's `part.share` calls (interior mutability: evaluation borrows its
/// environment immutably).
#[derive(Debug)]
pub struct PartShares {
    /// The split these shares belong to; a part of another split (an outer one) rounds simply.
    split: u32,
    state: RefCell<State>,
}

#[derive(Debug)]
enum State {
    /// Recording the amounts asked for.
    Probe(Vec<Decimal>),
    /// One part's row: the cells of each amount, in column order.
    Cells(HashMap<Decimal, VecDeque<Decimal>>),
}

impl PartShares {
    /// Records the amounts the first part asks for.
    pub fn probe(split: u32) -> Self {
        PartShares {
            split,
            state: RefCell::new(State::Probe(Vec::new())),
        }
    }

    /// One part's row of the table whose columns are `groups`.
    pub fn cells(split: u32, groups: &[Decimal], row: &[Decimal]) -> Self {
        let mut cells: HashMap<Decimal, VecDeque<Decimal>> = HashMap::new();
        for (group, cell) in groups.iter().zip(row) {
            cells.entry(group.normalize()).or_default().push_back(*cell);
        }
        PartShares {
            split,
            state: RefCell::new(State::Cells(cells)),
        }
    }

    /// The amounts recorded by a probe, in the order they were asked for.
    pub fn recorded(self) -> Vec<Decimal> {
        match self.state.into_inner() {
            State::Probe(amounts) => amounts,
            State::Cells(_) => Vec::new(),
        }
    }

    /// The share of `amount` for a part of `split`: the next cell of the table, or `None`
    /// when the caller rounds on its own (a probe, another split, an amount not in the table).
    pub fn take(&self, split: u32, amount: Decimal) -> Option<Decimal> {
        if split != self.split {
            return None;
        }
        match &mut *self.state.borrow_mut() {
            State::Probe(amounts) => {
                amounts.push(amount);
                None
            }
            State::Cells(cells) => cells.get_mut(&amount.normalize())?.pop_front(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    #[test]
    fn a_probe_records_in_order_and_answers_nothing() {
        let probe = PartShares::probe(1);
        assert_eq!(probe.take(1, d("10")), None);
        assert_eq!(probe.take(2, d("99")), None, "another split's part");
        assert_eq!(probe.take(1, d("-3")), None);
        assert_eq!(probe.recorded(), [d("10"), d("-3")]);
    }

    #[test]
    fn equal_amounts_take_their_columns_in_order() {
        let row = PartShares::cells(
            1,
            &[d("0.01"), d("5"), d("0.010")],
            &[d("0.01"), d("2.50"), d("0")],
        );
        assert_eq!(row.take(1, d("0.01")), Some(d("0.01")));
        assert_eq!(row.take(1, d("5.00")), Some(d("2.50")));
        assert_eq!(row.take(1, d("0.01")), Some(d("0")));
        assert_eq!(
            row.take(1, d("0.01")),
            None,
            "asked once more than the probe saw"
        );
        assert_eq!(row.take(2, d("5")), None, "another split's part");
    }
}

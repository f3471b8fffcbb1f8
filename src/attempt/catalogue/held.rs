//! What one process keeps of the catalogue (`run --shard`): a shard signs the credentials of its own devices
//! only, not the whole plan's. Set indices stay the whole plan's, so every set a shard holds is exactly the
//! unsharded catalogue's set (its flipped bit is drawn from the set's index, its forgeries from its own valid
//! signature); the sets it does not hold are empty and never asked for.
//!
//! A held set may need others: its raw-RSA forgeries come from its key's crafting set, its signer-made ones
//! (under an external signer) from its signing set, and its other-token forgery may send the next set's valid
//! signature. Those are held too, by [`closure`].

/// What a process keeps of one credential set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Hold {
    /// Nothing: no device of this process uses it and no replay reuses it.
    None,
    /// Its valid pair only: a replay of this process may reuse it (a victim in another shard).
    Valid,
    /// Every class: a device of this process uses it.
    All,
}

/// `wanted` (one per set; `None`: every set whole) with what the held sets borrow from held too: the
/// crafting and signing sets of every set held whole, whole, and the valid pair of the set after each.
pub(super) fn closure(wanted: Option<&[Hold]>, crafting: &[usize], signing: &[usize]) -> Vec<Hold> {
    let n = crafting.len();
    let Some(wanted) = wanted else {
        return vec![Hold::All; n];
    };
    let mut held: Vec<Hold> = (0..n)
        .map(|i| wanted.get(i).copied().unwrap_or(Hold::None))
        .collect();
    // Crafting and signing sets are their own crafting and signing sets, so one pass holds them whole; a
    // second one reaches the set after each of them.
    for _ in 0..2 {
        for i in 0..n {
            if held[i] == Hold::All {
                held[crafting[i]] = Hold::All;
                held[signing[i]] = Hold::All;
                let next = (i + 1) % n;
                held[next] = held[next].max(Hold::Valid);
            }
        }
    }
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_sets_bring_what_they_borrow() {
        // Sets 0 and 1 craft; 2..6 borrow from them; signing is local (each its own).
        let crafting = [0, 1, 0, 1, 0, 1];
        let signing = [0, 1, 2, 3, 4, 5];
        let mut wanted = [Hold::None; 6];
        wanted[3] = Hold::All;
        wanted[5] = Hold::Valid;
        let held = closure(Some(&wanted), &crafting, &signing);
        use Hold::*;
        assert_eq!(held, [None, All, Valid, All, Valid, Valid]);
        assert_eq!(closure(Option::None, &crafting, &signing), [All; 6]);
    }
}

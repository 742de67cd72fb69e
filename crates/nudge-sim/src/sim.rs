//! The simulation: every customer's tracks merged into one stream in event-time order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use nudge_events::{Event, Source, Ts};

use crate::customer::Customer;
use crate::persona::{Persona, PersonaShares, Population, Truth};
use crate::records::{customer_id, customer_index};

/// What to simulate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The same seed (and the rest of the config) gives the same records, on every platform.
    pub seed: u64,
    /// Number of customers, with ids `c0000000` upwards.
    pub customers: u32,
    /// Event time of the simulation's start: every record is at or after it.
    pub start: Ts,
    /// How customers are spread over personas.
    pub shares: PersonaShares,
    /// Percent of customers with no CRM profile at all (unsubscribers always have one).
    pub no_profile_percent: u32,
    /// Percent of newsletter recipients who never open an email.
    pub never_open_percent: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            customers: 1_000,
            // 2026-11-30T00:00:00Z
            start: Ts(1_795_996_800_000),
            shares: PersonaShares::default(),
            no_profile_percent: 5,
            never_open_percent: 15,
        }
    }
}

/// A running simulation: an endless iterator of `(source, record)` in event-time order.
///
/// Records come in non-decreasing `(event time, source)` order, sources in replay tie-break
/// order (CRM, email, clickstream), so writing them to one file per source and replaying
/// those files feeds the engine the same sequence. A customer's records depend only on the
/// seed and the customer's index, not on how many other customers there are.
///
/// Memory is fixed per customer (a few hundred bytes) whatever the number of records: each
/// customer has one entry in a heap ordered by the time of its next record, and a record is
/// built only when it is its turn.
pub struct Sim {
    cfg: SimConfig,
    population: Population,
    customers: Vec<Customer>,
    /// One entry per customer with anything left to publish: (time, source, customer).
    heap: BinaryHeap<Reverse<(i64, Source, u32)>>,
    emitted: u64,
}

impl Sim {
    /// A simulation of `cfg.customers` customers, positioned before its first record.
    pub fn new(cfg: SimConfig) -> Sim {
        let population = Population {
            seed: cfg.seed,
            shares: cfg.shares.weights(),
            no_profile_percent: cfg.no_profile_percent,
            never_open_percent: cfg.never_open_percent,
        };
        let start = cfg.start.millis();
        let customers: Vec<Customer> = (0..cfg.customers)
            .map(|i| Customer::new(cfg.seed, i, population.traits(i), start))
            .collect();
        let heap = customers
            .iter()
            .filter_map(|c| c.next().map(|(at, source)| Reverse((at, source, c.index))))
            .collect();
        Sim {
            cfg,
            population,
            customers,
            heap,
            emitted: 0,
        }
    }

    /// The configuration the simulation runs with.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Records produced so far.
    pub fn emitted(&self) -> u64 {
        self.emitted
    }

    /// Event time of the next record, without producing it: a live pacer sleeps until the
    /// wall-clock time it maps this to.
    pub fn peek_ts(&self) -> Option<Ts> {
        self.heap.peek().map(|Reverse((at, _, _))| Ts(*at))
    }

    /// The id of customer `index` (`c0000042` for 42).
    pub fn customer_id(index: u32) -> String {
        customer_id(index)
    }

    /// The persona of a simulated customer, or `None` for an id this simulation never uses.
    pub fn persona(&self, customer_id: &str) -> Option<Persona> {
        self.truth(customer_id).map(|t| t.persona)
    }

    /// Everything known in advance about a simulated customer: the ground truth to check the
    /// engine's triggers against.
    pub fn truth(&self, customer_id: &str) -> Option<Truth> {
        let index = customer_index(customer_id).filter(|&i| i < self.cfg.customers)?;
        Some(self.population.traits(index).truth)
    }

    /// The records strictly before `end`, leaving the first later record in place.
    pub fn until(&mut self, end: Ts) -> Until<'_> {
        Until { sim: self, end }
    }
}

impl Iterator for Sim {
    type Item = (Source, Event);

    /// The next record; `None` only when there are no customers.
    fn next(&mut self) -> Option<(Source, Event)> {
        let Reverse((_, source, index)) = self.heap.pop()?;
        let customer = &mut self.customers[index as usize];
        let event = customer.emit(source, self.cfg.start.millis());
        if let Some((at, next_source)) = customer.next() {
            self.heap.push(Reverse((at, next_source, index)));
        }
        self.emitted += 1;
        Some((source, event))
    }
}

/// The records of a [`Sim`] before an end time; see [`Sim::until`].
pub struct Until<'a> {
    sim: &'a mut Sim,
    end: Ts,
}

impl Iterator for Until<'_> {
    type Item = (Source, Event);

    fn next(&mut self) -> Option<(Source, Event)> {
        if self.sim.peek_ts()? >= self.end {
            return None;
        }
        self.sim.next()
    }
}

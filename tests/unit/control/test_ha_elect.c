#include <criterion/criterion.h>

#include <arpa/inet.h>

#include "ha_elect.h"

/* The election with a clock driven by hand (ms). */
static struct ha_elect e;
static uint64_t now;

static void start(const char *self, const char *peer, uint8_t prio, bool preempt,
                  uint32_t delay)
{
    struct ha_elect_cfg c = {
        .self_ip = inet_addr(self), .peer_ip = inet_addr(peer), .priority = prio,
        .interval_ms = 1000, .preempt = preempt, .preempt_delay_ms = delay,
    };
    now = 1000000;
    ha_elect_init(&e, &c, now);
}

static void hear(uint8_t state, uint8_t prio)
{
    struct ha_advert a = {.priority = prio, .state = state, .interval_ms = 1000};
    ha_elect_advert(&e, &a, now);
}

/* Advances the clock by ms in 10 ms steps, hearing the peer every second when
 * peer_state is not INIT. */
static void run(uint64_t ms, uint8_t peer_state, uint8_t peer_prio)
{
    for (uint64_t t = 0; t < ms; t += 10) {
        now += 10;
        if (peer_state != HA_STATE_INIT && now % 1000 == 0)
            hear(peer_state, peer_prio);
        ha_elect_tick(&e, now);
    }
}

Test(ha_elect, alone_becomes_master_after_master_down)
{
    start("192.168.112.5", "192.168.112.6", 100, true, 0);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    /* 3 intervals + skew (256 - 100) * 1000 / 256 = 609 ms */
    cr_assert_eq(ha_elect_master_down_ms(&e), 3609);
    run(3600, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_BACKUP, "not before the master-down interval");
    run(20, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    cr_assert_eq(e.transitions, 1);
    cr_assert_str_eq(e.reason, "master down");
}

Test(ha_elect, higher_master_keeps_us_backup_until_it_stops)
{
    start("192.168.112.6", "192.168.112.5", 100, true, 0);
    run(10000, HA_STATE_MASTER, 150);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    run(3000, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_BACKUP, "3 s of silence is within master-down");
    run(1000, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_MASTER, "the master is gone");
}

Test(ha_elect, both_backup_the_higher_one_wins_at_once)
{
    start("192.168.112.5", "192.168.112.6", 150, true, 0);
    hear(HA_STATE_BACKUP, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    start("192.168.112.6", "192.168.112.5", 100, true, 0);
    hear(HA_STATE_BACKUP, 150);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
}

Test(ha_elect, equal_priority_broken_by_address)
{
    start("192.168.112.6", "192.168.112.5", 100, true, 0);
    hear(HA_STATE_BACKUP, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER, "the higher address wins");
    start("192.168.112.5", "192.168.112.6", 100, true, 0);
    hear(HA_STATE_BACKUP, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    run(10000, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP, "an equal master with a higher address stays");
    /* Split brain between equals: the lower address steps down. */
    ha_elect_promote(&e, now);
    e.override = HA_OVERRIDE_NONE;
    hear(HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
}

Test(ha_elect, preempt_waits_for_the_delay_and_the_bulk_resync)
{
    start("192.168.112.5", "192.168.112.6", 150, true, 2000);
    hear(HA_STATE_MASTER, 100);
    run(1990, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP, "inside the preempt delay");
    run(1000, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP, "delay over, but the state not yet received");
    e.sync_ready = true;
    run(10, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    cr_assert_str_eq(e.reason, "preempt");
    cr_assert(ha_elect_advert_due(&e, now), "the old master hears of it at once");
}

Test(ha_elect, preempt_without_the_bulk_after_the_sync_wait)
{
    start("192.168.112.5", "192.168.112.6", 150, true, 1000);
    hear(HA_STATE_MASTER, 100);
    run(1000 + HA_ELECT_SYNC_WAIT_MS - 20, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    run(40, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER);
}

Test(ha_elect, no_preempt_keeps_the_lower_master)
{
    start("192.168.112.5", "192.168.112.6", 150, false, 0);
    e.sync_ready = true;
    run(20000, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    cr_assert_eq(e.transitions, 0);
}

Test(ha_elect, split_brain_heals_with_the_lower_one_stepping_down)
{
    start("192.168.112.6", "192.168.112.5", 100, true, 0);
    run(4000, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_MASTER, "the link is cut: master");
    hear(HA_STATE_MASTER, 150);
    cr_assert_eq(e.state, HA_STATE_BACKUP, "healed: the lower one steps down at once");
    start("192.168.112.5", "192.168.112.6", 150, true, 0);
    run(4000, HA_STATE_INIT, 0);
    (void)ha_elect_advert_due(&e, now);
    hear(HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER, "the higher one stays");
    cr_assert(ha_elect_advert_due(&e, now), "and advertises at once");
}

Test(ha_elect, fault_hands_over_and_recovers_as_backup)
{
    start("192.168.112.5", "192.168.112.6", 150, true, 0);
    hear(HA_STATE_BACKUP, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    ha_elect_set_fault(&e, HA_FAULT_LINK, true, now);
    cr_assert_eq(e.state, HA_STATE_FAULT);
    cr_assert_eq(ha_elect_priority(&e), 0, "advertised as priority 0");
    run(10000, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_FAULT, "no election while in fault");
    cr_assert(!ha_elect_promote(&e, now), "no promote in fault");
    ha_elect_set_fault(&e, HA_FAULT_LINK, false, now);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    cr_assert_str_eq(e.reason, "fault cleared");

    /* The backup's side: the master advertising fault is replaced at once. */
    start("192.168.112.6", "192.168.112.5", 100, true, 0);
    hear(HA_STATE_MASTER, 150);
    hear(HA_STATE_FAULT, 0);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    cr_assert_str_eq(e.reason, "peer in fault");
}

Test(ha_elect, monitor_fault_hands_over_and_recovers_as_backup)
{
    start("192.168.112.5", "192.168.112.6", 150, true, 0);
    hear(HA_STATE_BACKUP, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    ha_elect_set_fault(&e, HA_FAULT_MONITOR, true, now);
    cr_assert_eq(e.state, HA_STATE_FAULT);
    cr_assert_str_eq(e.reason, "monitored address not answering");
    cr_assert_eq(ha_elect_priority(&e), 0, "advertised as priority 0");
    cr_assert(ha_elect_advert_due(&e, now), "the peer hears of it at once");
    run(10000, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_FAULT, "a higher priority does not take it back");
    ha_elect_set_fault(&e, HA_FAULT_MONITOR, false, now);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    cr_assert_str_eq(e.reason, "fault cleared");
    cr_assert_eq(ha_elect_priority(&e), 150);
    /* Back as backup, it preempts the lower master as any returning unit does. */
    e.sync_ready = true;
    run(1010, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    cr_assert_str_eq(e.reason, "preempt");
}

Test(ha_elect, fault_causes_clear_apart)
{
    start("192.168.112.5", "192.168.112.6", 150, true, 0);
    ha_elect_set_fault(&e, HA_FAULT_MONITOR, true, now);
    ha_elect_set_fault(&e, HA_FAULT_LINK, true, now);
    cr_assert_eq(e.state, HA_STATE_FAULT);
    ha_elect_set_fault(&e, HA_FAULT_LINK, false, now);
    cr_assert_eq(e.state, HA_STATE_FAULT, "the monitor still fails");
    cr_assert_eq(ha_elect_priority(&e), 0);
    run(5000, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_FAULT, "alone, but in fault: never master");
    ha_elect_set_fault(&e, HA_FAULT_MONITOR, true, now);
    cr_assert_eq(e.state, HA_STATE_FAULT, "set twice is still one cause");
    ha_elect_set_fault(&e, HA_FAULT_MONITOR, false, now);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    cr_assert_eq(e.faults, 0);

    /* A backup in fault: the master is not replaced, and the fault is what we advertise. */
    start("192.168.112.6", "192.168.112.5", 100, true, 0);
    hear(HA_STATE_MASTER, 150);
    ha_elect_set_fault(&e, HA_FAULT_MONITOR, true, now);
    cr_assert_eq(e.state, HA_STATE_FAULT);
    hear(HA_STATE_FAULT, 0);
    cr_assert_eq(e.state, HA_STATE_FAULT, "both in fault: nobody is master");
    ha_elect_set_fault(&e, HA_FAULT_MONITOR, false, now);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    hear(HA_STATE_FAULT, 0);
    cr_assert_eq(e.state, HA_STATE_MASTER, "the peer still in fault: we take over");
    cr_assert_str_eq(e.reason, "peer in fault");
}

Test(ha_elect, no_preempt_returning_higher_unit_stays_backup_until_the_master_goes)
{
    /* The returning higher unit hears the lower master before its own master-down. */
    start("192.168.112.5", "192.168.112.6", 150, false, 0);
    hear(HA_STATE_MASTER, 100);
    e.sync_ready = true;
    run(30000, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    cr_assert_eq(e.transitions, 0);
    /* The master stops: master-down (3 of its intervals + our skew) later, we take over. */
    run(3000, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    run(1000, HA_STATE_INIT, 0);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    cr_assert_str_eq(e.reason, "master down");
}

Test(ha_elect, demote_and_promote)
{
    start("192.168.112.5", "192.168.112.6", 150, true, 0);
    hear(HA_STATE_BACKUP, 100);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    ha_elect_demote(&e, now);
    cr_assert_eq(e.state, HA_STATE_BACKUP);
    cr_assert_eq(ha_elect_priority(&e), 0);
    e.sync_ready = true;
    run(10000, HA_STATE_MASTER, 100);
    cr_assert_eq(e.state, HA_STATE_BACKUP, "demoted: no preemption");
    cr_assert(ha_elect_promote(&e, now));
    cr_assert_eq(e.state, HA_STATE_MASTER);
    cr_assert_eq(ha_elect_priority(&e), 255);
    hear(HA_STATE_MASTER, 254);
    cr_assert_eq(e.state, HA_STATE_MASTER, "promoted beats any configured priority");

    /* The peer of a demoted master: it advertises backup, priority 0; we take over. */
    start("192.168.112.6", "192.168.112.5", 100, true, 0);
    hear(HA_STATE_MASTER, 150);
    hear(HA_STATE_BACKUP, 0);
    cr_assert_eq(e.state, HA_STATE_MASTER);
    cr_assert_str_eq(e.reason, "peer demoted");
}

Test(ha_elect, adverts_every_interval)
{
    int n = 0;

    start("192.168.112.5", "192.168.112.6", 100, true, 0);
    for (int t = 0; t < 10000; t += 10) {
        now += 10;
        ha_elect_tick(&e, now);
        n += ha_elect_advert_due(&e, now);
    }
    /* At start-up, then every second; one more when the state changed. */
    cr_assert(n >= 10 && n <= 12, "%d adverts in 10 s", n);
}

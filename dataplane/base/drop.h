/*
 * drop: the reasons the dataplane drops a packet, each with its own counter.
 *
 * Every packet that is not sent on is counted under exactly one reason; the names
 * are the keys of the "drops" objects in the stats API. Add new reasons at the end
 * of the list; the names are part of the API.
 */
#ifndef LBD_DROP_H
#define LBD_DROP_H

#define DROP_REASONS(X)                                                        \
    X(MALFORMED_ETH, "malformed_eth")                                          \
    X(NOT_OUR_MAC, "not_our_mac")                                              \
    X(OWN_FRAME, "own_frame")                                                  \
    X(UNSUPPORTED_ETHERTYPE, "unsupported_ethertype")                          \
    X(MALFORMED_ARP, "malformed_arp")                                          \
    X(ARP_NOT_OURS, "arp_not_ours")                                            \
    X(MALFORMED_IP, "malformed_ip")                                            \
    X(BAD_IP_CHECKSUM, "bad_ip_checksum")                                      \
    X(IP_FRAGMENT, "ip_fragment")                                              \
    X(MALFORMED_ICMP, "malformed_icmp")                                        \
    X(BAD_ICMP_CHECKSUM, "bad_icmp_checksum")                                  \
    X(ICMP_UNHANDLED, "icmp_unhandled")                                        \
    X(MALFORMED_TCP, "malformed_tcp")                                          \
    X(MALFORMED_UDP, "malformed_udp")                                          \
    X(UNSUPPORTED_PROTO, "unsupported_proto")                                  \
    X(NOT_OURS, "not_ours")                                                    \
    X(NO_SERVICE, "no_service")                                                \
    X(L7_UNIMPLEMENTED, "l7_unimplemented")                                    \
    X(HANDOFF_RING_FULL, "handoff_ring_full")                                  \
    X(TX_FULL, "tx_full")                                                      \
    X(NO_CONFIG, "no_config")                                                  \
    X(NO_ROUTE, "no_route")                                                    \
    X(NEIGH_QUEUE_FULL, "neigh_queue_full")                                    \
    X(NEIGH_TIMEOUT, "neigh_timeout")                                          \
    X(NO_HEADROOM, "no_headroom")                                              \
    X(TTL_EXCEEDED, "ttl_exceeded")                                            \
    X(L4_NO_REAL_SERVER, "l4_no_real_server")                                  \
    X(L4_CONN_TABLE_FULL, "l4_conn_table_full")                                \
    X(L4_CONN_COLLISION, "l4_conn_collision")                                  \
    X(L4_TCP_NO_CONN, "l4_tcp_no_conn")                                        \
    X(L4_RS_HALTED, "l4_rs_halted")                                  \
    X(TCP_BAD_CHECKSUM, "tcp_bad_checksum")                                    \
    X(TCP_NO_SOCKET, "tcp_no_socket")                                          \
    X(TCP_NO_STACK, "tcp_no_stack")                                            \
    X(L4_TCP_NOT_SYN, "l4_tcp_not_syn")                                        \
    X(L4_HALF_OPEN_FULL, "l4_half_open_full")                                  \
    X(L4_SYNPROXY_WAIT, "l4_synproxy_wait")                                    \
    X(RX_MULTI_SEGMENT, "rx_multi_segment")                                    \
    X(PARTIAL_CHECKSUM, "partial_checksum")                                    \
    X(TX_SEGMENTS, "tx_segments")                                              \
    X(ECHO_UNMATCHED, "echo_unmatched")                                        \
    X(ECHO_LATE, "echo_late")                                                  \
    X(L4_ICMP_NO_CONN, "l4_icmp_no_conn")                                      \
    X(ICMP_ERROR_INVALID, "icmp_error_invalid")                                \
    X(REASS_INVALID, "reass_invalid")                                          \
    X(REASS_OVERLAP, "reass_overlap")                                          \
    X(REASS_DUPLICATE, "reass_duplicate")                                      \
    X(REASS_TOO_BIG, "reass_too_big")                                          \
    X(REASS_EVICTED, "reass_evicted")                                          \
    X(REASS_TIMEOUT, "reass_timeout")                                          \
    X(REASS_NOT_L4, "reass_not_l4")                                            \
    X(FRAG_NEEDED, "frag_needed")                                              \
    X(FRAG_FAILED, "frag_failed")                                              \
    X(HA_STANDBY, "ha_standby")                                                \
    X(HA_NOT_PEER, "ha_not_peer")                                              \
    X(HA_RING_FULL, "ha_ring_full")

enum drop_reason {
    DROP_NONE = 0,
#define DROP_ENUM(id, name) DROP_##id,
    DROP_REASONS(DROP_ENUM)
#undef DROP_ENUM
    DROP_MAX
};

/* API name of a reason ("malformed_ip"); "none" for DROP_NONE. */
const char *drop_reason_name(enum drop_reason r);

#endif

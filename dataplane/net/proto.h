/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * proto: wire layouts of the headers the stack speaks.  Multi-byte fields
 * are in network byte order; the structs are packed and accessed through
 * pointers into frames, which x86 and arm64 allow unaligned.
 */
#ifndef CACHALOT_NET_PROTO_H
#define CACHALOT_NET_PROTO_H

#include <stdint.h>

#define ETH_HLEN 14
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_ARP 0x0806
#define ETH_TYPE_VLAN 0x8100

struct eth_hdr {
	uint8_t dst[6];
	uint8_t src[6];
	uint16_t type;
} __attribute__((packed));

#define ARP_HW_ETHER 1
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

struct arp_hdr {
	uint16_t hw;
	uint16_t proto;
	uint8_t hlen;
	uint8_t plen;
	uint16_t op;
	uint8_t sha[6];
	uint32_t spa;
	uint8_t tha[6];
	uint32_t tpa;
} __attribute__((packed));

#define IP4_HLEN 20
#define IP4_PROTO_ICMP 1
#define IP4_PROTO_TCP 6
#define IP4_FLAG_DF 0x4000
#define IP4_FLAG_MF 0x2000
#define IP4_FRAG_OFF 0x1fff

struct ip4_hdr {
	uint8_t ver_ihl; /* 0x45 without options */
	uint8_t tos;
	uint16_t len;
	uint16_t id;
	uint16_t frag;
	uint8_t ttl;
	uint8_t proto;
	uint16_t csum;
	uint32_t src;
	uint32_t dst;
} __attribute__((packed));

#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8

struct icmp_hdr {
	uint8_t type;
	uint8_t code;
	uint16_t csum;
	uint16_t id;
	uint16_t seq;
} __attribute__((packed));

#define TCP_HLEN 20
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCP_OPT_EOL 0
#define TCP_OPT_NOP 1
#define TCP_OPT_MSS 2
#define TCP_OPT_WSCALE 3
#define TCP_OPT_SACK_OK 4
#define TCP_OPT_SACK 5
#define TCP_OPT_TS 8

struct tcp_hdr {
	uint16_t sport;
	uint16_t dport;
	uint32_t seq;
	uint32_t ack;
	uint8_t off; /* data offset in the high nibble, 32-bit words */
	uint8_t flags;
	uint16_t win;
	uint16_t csum;
	uint16_t urp;
} __attribute__((packed));

#endif

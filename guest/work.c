/* work.c: the two work functions the scheduler switches between. Each checks
 * its own results every round, so a replay that diverged, or a tracer that
 * disturbed the guest, shows up as a failed self-check. */
#include "demo.h"

#define MAX_WORK 65536

static uint8_t src_buf[MAX_WORK], dst_buf[MAX_WORK];
static uint8_t sieve_buf[MAX_WORK];

volatile uint64_t demo_checksum;          /* last round's checksum of work_checksum */
volatile uint64_t demo_primes;            /* primes below `work`, from the sieve */
volatile uint64_t demo_expected_div_faults;

static uint64_t work_size(void) {
  uint64_t n = demo_params.work;
  return n < 64 ? 64 : n > MAX_WORK ? MAX_WORK : n;
}

static uint64_t lcg(uint64_t* state) {
  *state = *state * 6364136223846793005ull + 1442695040888963407ull;
  return *state >> 33;
}

static uint64_t fletcher(const uint8_t* p, uint64_t n) {
  uint64_t a = 1, b = 0;
  for (uint64_t i = 0; i < n; i++) {
    a = (a + p[i]) % 65521;
    b = (b + a) % 65521;
  }
  return b << 16 | a;
}

/* Divide by a byte of the data; a zero byte (about one in 64) raises #DE,
 * which the handler turns into ~0. The first division of the first round is
 * by zero on purpose, so every run has at least one fault. Interrupts are off
 * around the division so the expected-fault count and the handler's count
 * cannot be torn apart by a task switch. */
static void divide_checks(uint64_t round, uint64_t n) {
  for (uint64_t i = 0; i < n; i += 64) {
    uint64_t divisor = (round == 0 && i == 0) ? 0 : (src_buf[i] & 0x3f);
    uint64_t dividend = fletcher(&src_buf[i], 16) + 1;
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0; cli" : "=r"(flags)::"memory");
    if (divisor == 0) demo_expected_div_faults++;
    uint64_t q = checked_div(dividend, divisor);
    __asm__ volatile("pushq %0; popfq" ::"r"(flags) : "memory", "cc");
    if (divisor == 0 ? q != ~0ull : !(q * divisor <= dividend && dividend - q * divisor < divisor)) {
      demo_failures++;
    }
  }
}

void work_checksum(void) {
  uint64_t n = work_size();
  for (uint64_t round = 0;; round++) {
    uint64_t state = demo_params.seed + round;
    for (uint64_t i = 0; i < n; i++) src_buf[i] = (uint8_t)lcg(&state);
    memcpy(dst_buf, src_buf, n); /* rep movsb */
    uint64_t a = fletcher(src_buf, n), b = fletcher(dst_buf, n);
    if (a != b) demo_failures++;
    demo_checksum = a;
    divide_checks(round, n);
    demo_rounds[0]++;
  }
}

static uint64_t sieve(uint64_t limit) {
  memset(sieve_buf, 1, limit); /* rep stosb */
  sieve_buf[0] = sieve_buf[1] = 0;
  for (uint64_t i = 2; i * i < limit; i++) {
    if (!sieve_buf[i]) continue;
    for (uint64_t j = i * i; j < limit; j += i) sieve_buf[j] = 0;
  }
  uint64_t count = 0;
  for (uint64_t i = 0; i < limit; i++) count += sieve_buf[i];
  return count;
}

/* Trial division: slow and independent of the sieve, run once at boot. */
uint64_t prime_count_reference(uint64_t limit) {
  uint64_t count = 0;
  for (uint64_t n = 2; n < limit; n++) {
    int prime = 1;
    for (uint64_t d = 2; d * d <= n; d++) {
      if (n % d == 0) {
        prime = 0;
        break;
      }
    }
    count += (uint64_t)prime;
  }
  return count;
}

void work_sieve(void) {
  uint64_t n = work_size();
  for (;;) {
    uint64_t count = sieve(n);
    if (demo_primes && count != demo_primes) demo_failures++;
    demo_primes = count;
    demo_rounds[1]++;
  }
}

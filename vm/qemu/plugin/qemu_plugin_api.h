// qemu_plugin_api.h: the part of QEMU's TCG plugin API (version 4, QEMU
// 10.0) the branch-trace plugin uses, declared by hand from the upstream API
// documentation: Debian ships no qemu-plugin.h. QEMU resolves these symbols
// when it dlopen()s the plugin; glib is already loaded in QEMU's process.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" {

// glib, as QEMU hands it to us.
struct GArray { char* data; unsigned len; };
struct GByteArray { std::uint8_t* data; unsigned len; };
GByteArray* g_byte_array_new(void);
GByteArray* g_byte_array_set_size(GByteArray* array, unsigned length);
char* g_array_free(GArray* array, int free_segment);

typedef std::uint64_t qemu_plugin_id_t;

struct qemu_info_t {
  const char* target_name;
  struct { int min; int cur; } version;
  bool system_emulation;
  union {
    struct { int smp_vcpus; int max_vcpus; } system;
  };
};

struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_plugin_register;
struct qemu_plugin_scoreboard;

struct qemu_plugin_u64 {
  qemu_plugin_scoreboard* score;
  std::size_t offset;
};

struct qemu_plugin_reg_descriptor {
  qemu_plugin_register* handle;
  const char* name;
  const char* feature;
};

enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_cond {
  QEMU_PLUGIN_COND_NEVER, QEMU_PLUGIN_COND_ALWAYS, QEMU_PLUGIN_COND_EQ, QEMU_PLUGIN_COND_NE,
  QEMU_PLUGIN_COND_LT, QEMU_PLUGIN_COND_LE, QEMU_PLUGIN_COND_GT, QEMU_PLUGIN_COND_GE,
};
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64, QEMU_PLUGIN_INLINE_STORE_U64 };

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void* userdata);
typedef void (*qemu_plugin_vcpu_simple_cb_t)(qemu_plugin_id_t id, unsigned int vcpu_index);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void* userdata);
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, qemu_plugin_tb* tb);
typedef std::uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_hwaddr;
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info, std::uint64_t vaddr,
                                          void* userdata);

__attribute__((visibility("default"))) extern int qemu_plugin_version;
__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t* info,
                                                               int argc, char** argv);

void qemu_plugin_outs(const char* string);
void qemu_plugin_register_vcpu_init_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_simple_cb_t cb);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void* userdata);

void qemu_plugin_register_vcpu_tb_exec_cond_cb(qemu_plugin_tb* tb, qemu_plugin_vcpu_udata_cb_t cb,
                                               qemu_plugin_cb_flags flags, qemu_plugin_cond cond,
                                               qemu_plugin_u64 entry, std::uint64_t imm, void* userdata);
void qemu_plugin_register_vcpu_tb_exec_inline_per_vcpu(qemu_plugin_tb* tb, qemu_plugin_op op,
                                                       qemu_plugin_u64 entry, std::uint64_t imm);

void qemu_plugin_register_vcpu_mem_cb(qemu_plugin_insn* insn, qemu_plugin_vcpu_mem_cb_t cb, qemu_plugin_cb_flags flags,
                                      qemu_plugin_mem_rw rw, void* userdata);
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
qemu_plugin_hwaddr* qemu_plugin_get_hwaddr(qemu_plugin_meminfo_t info, std::uint64_t vaddr);
std::uint64_t qemu_plugin_hwaddr_phys_addr(const qemu_plugin_hwaddr* haddr);

std::size_t qemu_plugin_tb_n_insns(const qemu_plugin_tb* tb);
std::uint64_t qemu_plugin_tb_vaddr(const qemu_plugin_tb* tb);
qemu_plugin_insn* qemu_plugin_tb_get_insn(const qemu_plugin_tb* tb, std::size_t idx);
std::size_t qemu_plugin_insn_data(const qemu_plugin_insn* insn, void* dest, std::size_t len);
std::size_t qemu_plugin_insn_size(const qemu_plugin_insn* insn);
std::uint64_t qemu_plugin_insn_vaddr(const qemu_plugin_insn* insn);

qemu_plugin_scoreboard* qemu_plugin_scoreboard_new(std::size_t element_size);
void* qemu_plugin_scoreboard_find(qemu_plugin_scoreboard* score, unsigned int vcpu_index);
int qemu_plugin_num_vcpus(void);

GArray* qemu_plugin_get_registers(void);
int qemu_plugin_read_register(qemu_plugin_register* handle, GByteArray* buf);
bool qemu_plugin_read_memory_vaddr(std::uint64_t addr, GByteArray* data, std::size_t len);
}

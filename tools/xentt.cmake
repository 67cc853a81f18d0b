# Programs that record and replay VMs.
xentt_add_tool(tt_record SOURCES tt_record.cc LIBS xentt_session nlohmann_json::nlohmann_json)
xentt_add_tool(tt_replay SOURCES tt_replay.cc LIBS xentt_session nlohmann_json::nlohmann_json)
xentt_add_tool(trace_task SOURCES trace_task.cc LIBS xentt_session nlohmann_json::nlohmann_json)

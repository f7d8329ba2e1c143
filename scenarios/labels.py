"""Chinese names of the scenario vocabulary, for pages and reports."""
from __future__ import annotations

SITUATION_LABELS = {
    "silent_caller": "无声来电", "low_volume": "来电声音小", "noisy_line": "线路杂音", "speakerphone": "客户使用免提",
    "dialect": "方言来电", "fast_speaker": "客户语速过快", "lookup_hold": "查询并保留通话",
    "system_failure": "系统缓慢或故障",
    "transfer_success": "转接成功", "transfer_failed": "转接不成功", "manager_request": "要求找领导",
    "personal_info_request": "询问坐席个人信息", "complaint_about_agent": "投诉坐席", "angry_caller": "情绪激动的客户",
    "abusive_caller": "辱骂坐席", "harassment": "骚扰电话", "date_invitation": "约坐席见面", "wrong_number": "打错电话",
    "out_of_scope": "非受理范围", "media_inquiry": "媒体来电", "callback_needed": "需回复的问题", "praise": "表扬致谢",
    "caller_apology": "客户道歉", "suggestion": "客户建议", "long_information": "需记录的较长信息",
    "call_dropped": "通话中断", "caller_wont_hang_up": "客户不挂机", "outbound_callback": "外呼回访",
    "customer_absent": "目标客户不在", "outbound_no_answer": "外呼无人接听/忙", "complaint": "投诉处理",
    "consultation": "业务咨询",
}
TASK_LABELS = {"live_call": "模拟通话", "recording_review": "录音评析", "typing": "工单录入", "case": "案例处理"}
LEVEL_LABELS = {5: "五级", 4: "四级", 3: "三级"}

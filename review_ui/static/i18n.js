/* Strings of the review UI: zh-CN first, English as the switch. t(key, vars) and data-i18n attributes. */
"use strict";
const I18N = {
  "zh-CN": {
    app: "街巡审核", nav_queue: "审核队列", nav_history: "审核记录", nav_cameras: "摄像头", nav_enforcement: "告知与案件", nav_stats: "统计", nav_docs: "API 文档",
    logout: "退出", lang_switch: "EN", login_title: "登录街巡审核", username: "用户名", password: "密码",
    login: "登录", login_failed: "用户名或密码错误", login_locked: "本机登录失败次数过多，请稍后再试",
    login_integration: "集成账号只能使用 API 令牌", network_error: "网络错误，正在重试…",
    pending: "待审", available: "可领取", mine: "我已认领", decided_today: "我 24 小时内已审",
    all_violations: "全部违规类型", all_cameras: "全部摄像头", filter: "筛选",
    sidewalk_parking: "人行道违停", non_motor_parking: "非机动车乱停放", street_vendor: "流动摊贩经营", out_of_shop: "出店经营", illegal_dumping: "随意倾倒垃圾",
    warn: "责令改正", case: "建议立案", reject: "驳回", skip: "跳过", warned: "已责令改正", rejected: "已驳回",
    false_detection: "误检", not_a_violation: "不构成违规", duplicate: "重复", other: "其他",
    pick_reason: "选择驳回原因", cancel: "取消", note: "备注（可选，按 n 输入）", note_col: "备注",
    camera: "摄像头", zone: "区域", violation: "违规类型", label: "目标", time: "时间", score: "置信度",
    duration: "持续", claim_until: "认领至", recorded: "录像", seconds: "秒", minutes: "分钟",
    frame: "现场", crop: "目标特写", first: "首次发现", before: "之前", after: "之后", attribution: "关联人/物", recheck: "复查",
    queue_empty: "队列已清空，没有待审的疑似违规事件。", loading: "加载中…",
    decided_warn: "#{id} 已下发整改告知", decided_case: "#{id} 已建议立案", decided_reject: "#{id} 已驳回（{reason}）",
    decided_skip: "#{id} 已跳过", conflict: "无法决定：{detail}",
    plate: "车牌", plate_none: "未识别", plate_uncertain: "存疑，请核对", plate_prompt: "更正车牌号（如 粤B12345）", plate_bad: "车牌格式不对", key_plate: "更正车牌",
    help_title: "快捷键", help_close: "按 Esc 或 ? 关闭",
    key_warn: "责令改正（确认违规，下发整改告知；摊贩、违停为劝离）", key_case: "建议立案（确认违规，移送立案）", key_reject: "驳回（再选原因）",
    key_skip: "跳过（留给其他审核员）", key_next: "下一条", key_prev: "上一条", key_note: "输入备注",
    key_evidence: "切换证据图", key_help: "显示/隐藏帮助",
    position: "第 {n} / {total} 条（已预载）",
    history_title: "审核记录", search: "搜索备注、审核员、摄像头、编号…", all_decisions: "全部决定", all_reasons: "全部原因",
    reviewer: "审核员", decision: "决定", reason: "原因", decided_at: "审核时间", candidate: "事件", load_more: "加载更多",
    no_history: "没有符合条件的记录。",
    cameras_title: "摄像头与区域", new_zone: "新建区域", delete_zone: "删除区域", save_zones: "保存区域",
    refresh_snapshot: "刷新画面", zone_id: "区域编号", zone_name: "名称", zone_kind: "类型", dwell: "停留秒数（空=默认）",
    sidewalk: "人行道", non_motor: "禁停非机动车", no_vending: "禁止摆摊", shopfront: "店外", no_dumping: "禁止乱倒垃圾",
    draw_hint: "点击画面添加顶点，回车或双击完成，Esc 取消。", edit_hint: "拖动顶点调整形状，拖动区域移动位置，Delete 删除。",
    saved: "已保存（版本 {v}）", unsaved: "有未保存的修改", save_failed: "保存失败：{detail}", read_only: "仅主管和管理员可以修改区域。",
    no_snapshot: "暂无画面（摄像头运行后每隔几秒更新）", version: "版本", zones: "区域", health: "状态", node: "节点", no_node: "无（等待空闲节点）",
    forbidden: "没有权限", error: "出错了：{detail}",
    unsent: "待发送", unsent_title: "待发送的决定", offline_banner: "与服务器的连接已断开，{n} 条决定待发送，恢复后自动发送。",
    undo_button: "撤销", undo_queued: "#{id} 将在发送后撤销", undo_nothing: "没有可撤销的决定（撤销时限已过）",
    undo_failed: "#{id} 无法撤销：{why}", undone: "#{id} 已撤销，重新待审", not_decided: "#{id} 未能决定：{why}",
    withdraw: "撤回告知（误发）", withdraw_reason: "撤回理由（必填，告知案件系统）", withdraw_need_reason: "请填写撤回理由",
    notice_withdrawn: "告知 {ref} 已撤回，已通知案件系统", key_pair: "之前 / 之后并排大图", search_label: "搜索", evidence_of: "证据图：{what}",
    lag: "延迟", last_frame: "最后一帧", owner: "运行于", snapshots_grid: "全部画面", snapshot_of: "{name} 的当前画面",
    zone_too_few: "区域至少需要 3 个顶点（现在 {n} 个）：继续点击添加，或按 Esc 取消。", confirm_delete_zone: "删除区域“{name}”？（保存后生效）",
    new_work: "有新的疑似违规事件待审", key_undo: "撤销刚才的决定（时限内）", note_label: "备注", evidence_main: "主证据图",
    err_network: "无法连接服务器，稍后自动重试", err_server: "服务器出错（{status}），稍后再试", err_invalid: "输入内容不符合要求，请检查后重试",
    err_login: "登录已过期，请重新登录", err_forbidden: "当前角色没有此项权限", err_not_found: "该记录不存在或已被删除",
    err_conflict: "该记录已被他人处理或已变更，请刷新后查看",
    err_not_your_claim: "该事件由其他审核员领取，只有本人或主管可以释放", err_claimed_by_other: "该事件已由其他审核员领取",
    err_not_pending: "该事件已处理，不再待审", err_already_decided: "该事件已作出处理决定",
    err_too_many_zones: "该摄像头的区域数已达上限（100 个）", err_not_authenticated: "请先登录", err_too_large: "内容过大", err_too_many: "操作过于频繁，请稍后再试",
    err_other: "请求未成功（{status}）",
    obj_car: "轿车", obj_truck: "货车", obj_bus: "公交车", obj_motorcycle: "摩托车", obj_bicycle: "自行车", obj_person: "行人",
    obj_umbrella: "遮阳伞", obj_chair: "椅子", obj_dining_table: "桌子", obj_suitcase: "箱包", obj_garbage: "垃圾", obj_static_object: "遗留物",
    warn_move_on: "劝离", decided_move_on: "#{id} 已劝离（限期改正）", ns_withdrawn: "已撤回（误发）",
    cam_online: "在线", cam_starting: "启动中", cam_reconnecting: "重连中", cam_ended: "已播完（录像）", cam_error: "故障", cam_offline: "离线", cam_unknown: "状态未知",
    role_reviewer: "审核员", role_supervisor: "主管", role_admin: "管理员", role_integration: "案件系统",
    docs_back: "返回审核队列",
    // notices and cases (/enforcement)
    tab_notices: "整改告知", tab_cases: "执法案件", all_statuses: "全部状态", ref: "编号", place: "地点", status: "状态",
    deadline_col: "期限 / 复查", shop_plate: "商户 / 车牌", issued_col: "下发 / 移送", updated_col: "最近变更",
    ns_open: "整改期内", ns_awaiting_supervisor: "待主管决定", ns_complied: "已整改", ns_escalated: "已移送立案", ns_cancelled: "已撤销",
    cs_open: "待受理", cs_accepted: "已受理", cs_closed: "已结案", cs_rejected: "已退回",
    src_reviewer: "审核员", src_supervisor: "主管", src_system: "系统", src_integration: "案件系统",
    origin_decision: "审核员建议立案", origin_escalation: "复查仍在，自动移送立案", origin_supervisor: "主管移送立案",
    deadline: "整改期限", grace: "整改时限", hours: "小时", next_check: "下次复查", recheck_note: "复查情况", recheck_attempts: "复查次数",
    checked_at: "复查时间", closed_at: "关闭时间", issued_by: "下发人", created_by: "移送人", origin: "来源", from_notice: "原整改告知",
    to_case: "移送立案", result: "处理结果", external_id: "案件系统编号", seen: "发现时间", shop: "商户", evidence: "证据",
    status_history: "状态记录", hist_change: "变更", hist_source: "来源", hist_actor: "操作人",
    download_bundle: "下载证据包（ZIP）", pick_row: "用 j / k 选择一条，回车（或点击）查看详情。",
    no_notices: "没有符合条件的整改告知。", no_cases: "没有符合条件的执法案件。",
    sup_title: "主管决定", sup_hint: "复查时违规仍在：移送立案，或撤销告知（不予立案）。", sup_wait: "复查时违规仍在，等待主管决定。",
    escalate: "移送立案", cancel_notice: "撤销告知（不予立案）", sup_note: "理由（可选）",
    escalated_to: "已移送立案 {ref}", notice_cancelled: "告知 {ref} 已撤销",
    key_tabs: "整改告知 / 执法案件", key_open: "打开所选一条的详情", key_bundle: "下载证据包", key_refresh: "刷新列表",
    key_close: "关闭详情或帮助", issued: "告知 / 案件",
    // statistics (/stats)
    stats_title: "执法统计", date_from: "起始日期", date_to: "截止日期", last_7: "近 7 天", last_30: "近 30 天", day: "日期",
    st_captured: "抓拍", st_confirmed: "确认违规", st_rejected: "驳回", st_warned: "责令改正", st_complied: "告知后已整改",
    st_escalated: "告知后移送立案", st_cases: "移送立案", st_share: "未立案办结率", total: "合计", no_stats: "所选范围内没有抓拍。",
    range: "{from} 至 {to}（UTC{tz}）",
    share_hint: "已确认的违规中，经警告后整改或由主管撤销、没有立案就结束的比例。",
  },
  en: {
    app: "StreetWarden", nav_queue: "Queue", nav_history: "History", nav_cameras: "Cameras", nav_enforcement: "Notices & cases", nav_stats: "Statistics", nav_docs: "API docs",
    logout: "Log out", lang_switch: "中文", login_title: "Log in to StreetWarden", username: "Username", password: "Password",
    login: "Log in", login_failed: "Wrong username or password", login_locked: "Too many failed logins from this computer; wait a little and try again",
    login_integration: "Integration accounts use API tokens only", network_error: "Network error, retrying…",
    pending: "Pending", available: "Available", mine: "Mine", decided_today: "Done (24 h)",
    all_violations: "All violations", all_cameras: "All cameras", filter: "Filter",
    sidewalk_parking: "Sidewalk parking", non_motor_parking: "Non-motor vehicle parking", street_vendor: "Street vendor", out_of_shop: "Out-of-shop trading", illegal_dumping: "Illegal dumping",
    warn: "Warn", case: "Case", reject: "Reject", skip: "Skip", warned: "Warned", rejected: "Rejected",
    false_detection: "False detection", not_a_violation: "Not a violation", duplicate: "Duplicate", other: "Other",
    pick_reason: "Pick a reject reason", cancel: "Cancel", note: "Note (optional, press n)", note_col: "Note",
    camera: "Camera", zone: "Zone", violation: "Violation", label: "Object", time: "Time", score: "Score",
    duration: "Lasted", claim_until: "Claimed until", recorded: "Recording", seconds: "s", minutes: "min",
    frame: "Scene", crop: "Close-up", first: "First seen", before: "Before", after: "After", attribution: "Nearby person/object", recheck: "Recheck",
    queue_empty: "The queue is empty: nothing waits for a decision.", loading: "Loading…",
    decided_warn: "#{id} warned", decided_case: "#{id} opened as a case", decided_reject: "#{id} rejected ({reason})",
    decided_skip: "#{id} skipped", conflict: "Not decided: {detail}",
    plate: "Plate", plate_none: "not read", plate_uncertain: "uncertain, please check", plate_prompt: "Correct the plate (e.g. 粤B12345)", plate_bad: "Not a valid plate", key_plate: "correct the plate",
    help_title: "Keyboard", help_close: "Esc or ? closes",
    key_warn: "Warn (confirmed, warning notice)", key_case: "Case (confirmed, enforcement case)", key_reject: "Reject (then pick a reason)",
    key_skip: "Skip (leave it to another reviewer)", key_next: "Next", key_prev: "Previous", key_note: "Write a note",
    key_evidence: "Cycle evidence pictures", key_help: "Show/hide help",
    position: "{n} of {total} (preloaded)",
    history_title: "Decision history", search: "Search note, reviewer, camera, id…", all_decisions: "All decisions", all_reasons: "All reasons",
    reviewer: "Reviewer", decision: "Decision", reason: "Reason", decided_at: "Decided", candidate: "Candidate", load_more: "Load more",
    no_history: "No matching decisions.",
    cameras_title: "Cameras and zones", new_zone: "New zone", delete_zone: "Delete zone", save_zones: "Save zones",
    refresh_snapshot: "Refresh picture", zone_id: "Zone id", zone_name: "Name", zone_kind: "Kind", dwell: "Dwell seconds (empty = default)",
    sidewalk: "Sidewalk", non_motor: "No non-motor parking", no_vending: "No vending", shopfront: "Shopfront", no_dumping: "No dumping",
    draw_hint: "Click the picture to add corners; Enter or double-click finishes, Esc cancels.", edit_hint: "Drag corners to reshape, drag the zone to move it, Delete removes it.",
    saved: "Saved (version {v})", unsaved: "Unsaved changes", save_failed: "Not saved: {detail}", read_only: "Only supervisors and admins can change zones.",
    no_snapshot: "No picture yet (refreshed every few seconds once the camera runs)", version: "Version", zones: "Zones", health: "State", node: "node", no_node: "none (waiting for a node with room)",
    forbidden: "Not allowed", error: "Error: {detail}",
    warn_move_on: "Move on", decided_move_on: "#{id} told to move on", ns_withdrawn: "Withdrawn (issued in error)",
    cam_online: "Online", cam_starting: "Starting", cam_reconnecting: "Reconnecting", cam_ended: "Ended (recording)", cam_error: "Failed", cam_offline: "Offline", cam_unknown: "Unknown",
    role_reviewer: "reviewer", role_supervisor: "supervisor", role_admin: "admin", role_integration: "case system",
    docs_back: "Back to the queue",
    unsent: "not sent yet", unsent_title: "Decisions waiting to be sent", offline_banner: "The server cannot be reached: {n} decision(s) waiting; they are sent automatically when it is back.",
    undo_button: "Undo", undo_queued: "#{id} will be undone once it is sent", undo_nothing: "Nothing to undo (the undo window has passed)",
    undo_failed: "#{id} could not be undone: {why}", undone: "#{id} undone, back in the queue", not_decided: "#{id} not decided: {why}",
    withdraw: "Withdraw (issued in error)", withdraw_reason: "Why it is withdrawn (required; sent to the case system)",
    withdraw_need_reason: "Give a reason for the withdrawal", notice_withdrawn: "Notice {ref} withdrawn; the case system is told",
    key_pair: "Before / after side by side, full size", search_label: "Search", evidence_of: "Evidence: {what}",
    lag: "lag", last_frame: "last frame", owner: "run by", snapshots_grid: "All pictures", snapshot_of: "Current picture of {name}",
    zone_too_few: "A zone needs at least 3 corners ({n} so far): click to add more, or Esc to cancel.", confirm_delete_zone: "Delete the zone \u201c{name}\u201d? (takes effect when saved)",
    new_work: "New work in the queue", key_undo: "Undo the last decision (within the window)", note_label: "Note", evidence_main: "Main evidence picture",
    err_network: "The server cannot be reached; retrying shortly", err_server: "Server error ({status}); try again later", err_invalid: "The input is not valid; check it and try again",
    err_login: "The session has expired; log in again", err_forbidden: "Your role may not do this", err_not_found: "It does not exist (any more)",
    err_conflict: "Someone else handled or changed it; reload to see",
    err_not_your_claim: "Another reviewer holds this one; only they or a supervisor can release it", err_claimed_by_other: "Another reviewer holds this one",
    err_not_pending: "Already handled, no longer pending", err_already_decided: "A decision was already made",
    err_too_many_zones: "This camera already has the most zones allowed (100)", err_not_authenticated: "Please sign in", err_too_large: "Too large", err_too_many: "Too many attempts; wait a moment",
    err_other: "The request failed ({status})",
    // notices and cases (/enforcement)
    tab_notices: "Warning notices", tab_cases: "Enforcement cases", all_statuses: "All statuses", ref: "Ref", place: "Place", status: "Status",
    deadline_col: "Deadline / re-check", shop_plate: "Shop / plate", issued_col: "Issued / opened", updated_col: "Last change",
    ns_open: "Open (grace period)", ns_awaiting_supervisor: "Awaiting supervisor", ns_complied: "Complied", ns_escalated: "Escalated", ns_cancelled: "Cancelled",
    cs_open: "Open", cs_accepted: "Accepted", cs_closed: "Closed", cs_rejected: "Rejected",
    src_reviewer: "Reviewer", src_supervisor: "Supervisor", src_system: "System", src_integration: "Case system",
    origin_decision: "Reviewer's case decision", origin_escalation: "Still there at the re-check", origin_supervisor: "Escalated by a supervisor",
    deadline: "Deadline", grace: "Grace period", hours: "h", next_check: "Next re-check", recheck_note: "Re-check", recheck_attempts: "Re-checks",
    checked_at: "Re-checked at", closed_at: "Closed at", issued_by: "Issued by", created_by: "Opened by", origin: "Origin", from_notice: "From notice",
    to_case: "Became case", result: "Result", external_id: "Case-system id", seen: "Seen", shop: "Shop", evidence: "Evidence",
    status_history: "Status history", hist_change: "Change", hist_source: "Source", hist_actor: "By",
    download_bundle: "Download evidence bundle (ZIP)", pick_row: "Pick a row with j / k and press Enter (or click it) for the details.",
    no_notices: "No matching warning notices.", no_cases: "No matching enforcement cases.",
    sup_title: "Supervisor decision", sup_hint: "Still there at the re-check: open an enforcement case, or close the notice without one.",
    sup_wait: "Still there at the re-check; waiting for a supervisor.",
    escalate: "Escalate to a case", cancel_notice: "Close without a case", sup_note: "Reason (optional)",
    escalated_to: "Escalated: case {ref}", notice_cancelled: "Notice {ref} closed without a case",
    key_tabs: "Warning notices / enforcement cases", key_open: "Open the selected row", key_bundle: "Download the evidence bundle",
    key_refresh: "Reload the list", key_close: "Close the details or the help", issued: "Notice / case",
    // statistics (/stats)
    stats_title: "Enforcement statistics", date_from: "From", date_to: "To", last_7: "Last 7 days", last_30: "Last 30 days", day: "Day",
    st_captured: "Captured", st_confirmed: "Confirmed", st_rejected: "Rejected", st_warned: "Warned", st_complied: "Complied after warning",
    st_escalated: "Escalated after warning", st_cases: "Cases", st_share: "Closed without a case", total: "Total",
    no_stats: "Nothing was captured in this range.", range: "{from} to {to} (UTC{tz})",
    share_hint: "Of the confirmed violations, the share that ended without a case: complied after a warning, or closed by a supervisor.",
  },
};

function currentLang() {
  const l = localStorage.getItem("sw_lang");
  return l && I18N[l] ? l : "zh-CN";
}

function t(key, vars) {
  const table = I18N[currentLang()];
  let s = key in table ? table[key] : (key in I18N["zh-CN"] ? I18N["zh-CN"][key] : key);
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.split("{" + k + "}").join(String(v));
  return s;
}

function applyI18n(root) {
  root = root || document;
  document.documentElement.lang = currentLang();
  root.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  root.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  root.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  root.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
}

function setLang(lang) {
  localStorage.setItem("sw_lang", lang);
  applyI18n();
  window.dispatchEvent(new Event("langchange"));
}

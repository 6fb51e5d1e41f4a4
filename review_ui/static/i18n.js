/* Strings of the review UI: zh-CN first, English as the switch. t(key, vars) and data-i18n attributes. */
"use strict";
const I18N = {
  "zh-CN": {
    app: "街巡审核", nav_queue: "审核队列", nav_history: "审核记录", nav_cameras: "摄像头", nav_docs: "API 文档",
    logout: "退出", lang_switch: "EN", login_title: "登录街巡审核", username: "用户名", password: "密码",
    login: "登录", login_failed: "用户名或密码错误", login_locked: "失败次数过多，请 15 分钟后再试",
    login_integration: "集成账号只能使用 API 令牌", network_error: "网络错误，正在重试…",
    pending: "待审", available: "可领取", mine: "我已认领", decided_today: "我 24 小时内已审",
    all_violations: "全部违规类型", all_cameras: "全部摄像头", filter: "筛选",
    sidewalk_parking: "人行道违停", street_vendor: "流动摊贩", out_of_shop: "出店经营", illegal_dumping: "违规倾倒垃圾",
    warn: "警告", case: "立案", reject: "驳回", skip: "跳过", warned: "已警告", rejected: "已驳回",
    false_detection: "误检", not_a_violation: "不构成违规", duplicate: "重复", other: "其他",
    pick_reason: "选择驳回原因", cancel: "取消", note: "备注（可选，按 n 输入）", note_col: "备注",
    camera: "摄像头", zone: "区域", violation: "违规类型", label: "目标", time: "时间", score: "置信度",
    duration: "持续", claim_until: "认领至", recorded: "录像", seconds: "秒", minutes: "分",
    frame: "现场", crop: "目标特写", first: "首次发现", before: "之前", after: "之后", attribution: "关联人/物", recheck: "复查",
    queue_empty: "队列已清空，没有待审的候选。", loading: "加载中…",
    decided_warn: "#{id} 已警告", decided_case: "#{id} 已立案", decided_reject: "#{id} 已驳回（{reason}）",
    decided_skip: "#{id} 已跳过", conflict: "无法决定：{detail}",
    plate: "车牌", plate_none: "未识别", plate_prompt: "更正车牌号（如 粤B12345）", plate_bad: "车牌格式不对", key_plate: "更正车牌",
    help_title: "快捷键", help_close: "按 Esc 或 ? 关闭",
    key_warn: "警告（确认违规，发警告通知）", key_case: "立案（确认违规，立执法案件）", key_reject: "驳回（再选原因）",
    key_skip: "跳过（留给其他审核员）", key_next: "下一条", key_prev: "上一条", key_note: "输入备注",
    key_evidence: "切换证据图", key_help: "显示/隐藏帮助",
    position: "第 {n} / {total} 条（已预载）",
    history_title: "审核记录", search: "搜索备注、审核员、摄像头、编号…", all_decisions: "全部决定", all_reasons: "全部原因",
    reviewer: "审核员", decision: "决定", reason: "原因", decided_at: "审核时间", candidate: "候选", load_more: "加载更多",
    no_history: "没有符合条件的记录。",
    cameras_title: "摄像头与区域", new_zone: "新建区域", delete_zone: "删除区域", save_zones: "保存区域",
    refresh_snapshot: "刷新画面", zone_id: "区域编号", zone_name: "名称", zone_kind: "类型", dwell: "停留秒数（空=默认）",
    sidewalk: "人行道", no_vending: "禁止摆摊", shopfront: "店外", no_dumping: "禁止倾倒",
    draw_hint: "点击画面添加顶点，回车或双击完成，Esc 取消。", edit_hint: "拖动顶点调整形状，拖动区域移动位置，Delete 删除。",
    saved: "已保存（版本 {v}）", unsaved: "有未保存的修改", save_failed: "保存失败：{detail}", read_only: "仅主管和管理员可以修改区域。",
    no_snapshot: "暂无画面（摄像头运行后每隔几秒更新）", version: "版本", zones: "区域", health: "状态",
    forbidden: "没有权限", error: "出错了：{detail}",
    obj_car: "轿车", obj_truck: "货车", obj_bus: "公交车", obj_motorcycle: "摩托车", obj_bicycle: "自行车", obj_person: "行人",
    obj_umbrella: "遮阳伞", obj_chair: "椅子", obj_dining_table: "桌子", obj_suitcase: "箱包", obj_garbage: "垃圾", obj_static_object: "遗留物",
  },
  en: {
    app: "StreetWarden review", nav_queue: "Queue", nav_history: "History", nav_cameras: "Cameras", nav_docs: "API docs",
    logout: "Log out", lang_switch: "中文", login_title: "Log in to StreetWarden", username: "Username", password: "Password",
    login: "Log in", login_failed: "Wrong username or password", login_locked: "Too many failures; try again in 15 minutes",
    login_integration: "Integration accounts use API tokens only", network_error: "Network error, retrying…",
    pending: "Pending", available: "Available", mine: "Claimed by me", decided_today: "Decided by me (24 h)",
    all_violations: "All violations", all_cameras: "All cameras", filter: "Filter",
    sidewalk_parking: "Sidewalk parking", street_vendor: "Street vendor", out_of_shop: "Out-of-shop trading", illegal_dumping: "Illegal dumping",
    warn: "Warn", case: "Case", reject: "Reject", skip: "Skip", warned: "Warned", rejected: "Rejected",
    false_detection: "False detection", not_a_violation: "Not a violation", duplicate: "Duplicate", other: "Other",
    pick_reason: "Pick a reject reason", cancel: "Cancel", note: "Note (optional, press n)", note_col: "Note",
    camera: "Camera", zone: "Zone", violation: "Violation", label: "Object", time: "Time", score: "Score",
    duration: "Lasted", claim_until: "Claimed until", recorded: "Recording", seconds: "s", minutes: "min",
    frame: "Scene", crop: "Close-up", first: "First seen", before: "Before", after: "After", attribution: "Nearby person/object", recheck: "Recheck",
    queue_empty: "The queue is empty: nothing waits for a decision.", loading: "Loading…",
    decided_warn: "#{id} warned", decided_case: "#{id} opened as a case", decided_reject: "#{id} rejected ({reason})",
    decided_skip: "#{id} skipped", conflict: "Not decided: {detail}",
    plate: "Plate", plate_none: "not read", plate_prompt: "Correct the plate (e.g. 粤B12345)", plate_bad: "Not a valid plate", key_plate: "correct the plate",
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
    sidewalk: "Sidewalk", no_vending: "No vending", shopfront: "Shopfront", no_dumping: "No dumping",
    draw_hint: "Click the picture to add corners; Enter or double-click finishes, Esc cancels.", edit_hint: "Drag corners to reshape, drag the zone to move it, Delete removes it.",
    saved: "Saved (version {v})", unsaved: "Unsaved changes", save_failed: "Not saved: {detail}", read_only: "Only supervisors and admins can change zones.",
    no_snapshot: "No picture yet (refreshed every few seconds once the camera runs)", version: "Version", zones: "Zones", health: "State",
    forbidden: "Not allowed", error: "Error: {detail}",
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
}

function setLang(lang) {
  localStorage.setItem("sw_lang", lang);
  applyI18n();
  window.dispatchEvent(new Event("langchange"));
}

package web

import (
	"fmt"
	"regexp"
	"strconv"
)

// messages are the interface's words, Chinese first (the default) and
// English. Templates look them up with {{$.T "key"}}, and the values of
// the API's enumerations with {{$.L "group" value}}; the scripts get the
// same table as JSON data in the page. A key missing from a language falls
// back to Chinese, and a missing key shows itself, so a gap is visible.
var messages = map[string]map[string]string{
	"zh": {
		"app": "listinggen 审核台", "nav.queue": "审核队列", "nav.import": "导入商品", "nav.signout": "退出",
		"lang.other": "English", "lang.other.code": "en",
		"queue.title": "审核队列", "queue.empty": "没有符合条件的商品。", "queue.next": "下一页", "queue.first": "第一页",
		"queue.keys":  "快捷键：j/k 上下移动，x 选中，a 通过，r 驳回，e 编辑，回车 打开",
		"filter.shop": "店铺", "filter.platform": "平台", "filter.status": "状态", "filter.verdict": "查重",
		"filter.compliance": "合规", "filter.any": "全部", "filter.apply": "筛选", "filter.problems": "有阻断问题",
		"filter.ok": "无阻断问题", "filter.job": "批量任务",
		"col.title": "标题", "col.shop": "店铺", "col.platform": "平台", "col.status": "状态", "col.verdict": "查重",
		"col.compliance": "合规", "col.images": "图片", "col.updated": "更新时间",
		"bulk.approve": "批量通过", "bulk.reject": "批量驳回", "bulk.selected": "已选", "bulk.all": "全选",
		"status.draft": "草稿", "status.needs_review": "待人工审核", "status.approved": "已通过", "status.rejected": "已驳回",
		"verdict.unique": "唯一", "verdict.similar": "相似", "verdict.duplicate": "重复",
		"compliance.ok": "通过", "compliance.problems": "个问题",
		"listing.source": "货源原文", "listing.generated": "生成文案", "listing.title": "标题",
		"listing.selling_points": "卖点", "listing.description": "详情", "listing.keywords": "关键词",
		"listing.attributes": "属性", "listing.category": "类目", "listing.price": "价格", "listing.brand": "品牌",
		"listing.violations": "合规问题", "listing.no_violations": "没有合规问题。", "listing.rule": "规则",
		"listing.suggestion": "建议", "listing.term": "词", "listing.field": "位置", "listing.severity": "级别",
		"listing.repaired": "自动修正", "listing.reasons": "需人工审核的原因", "listing.images": "图片",
		"listing.image_errors": "图片错误", "listing.variant": "规格", "listing.size": "尺寸", "listing.bytes": "字节",
		"listing.dedup": "查重", "listing.matches": "相似商品", "listing.score": "相似度", "listing.text_score": "文本相似度", "listing.kind": "依据",
		"listing.scope": "范围", "listing.no_matches": "没有相似商品。", "listing.provenance": "生成信息",
		"listing.rewriter": "改写器", "listing.model": "模型", "listing.prompt": "提示词版本", "listing.tokens": "用量(输入/输出 token)",
		"listing.cost": "成本(美元)", "listing.embedder": "向量模型", "listing.edited_by": "编辑者", "listing.version": "版本",
		"listing.edit": "编辑 (e)", "listing.save": "保存", "listing.cancel": "取消", "listing.approve": "通过 (a)",
		"listing.reject": "驳回 (r)", "listing.regenerate": "重新生成", "listing.units": "长度", "listing.limit": "上限",
		"listing.checking": "检查中…", "listing.checked": "已实时检查", "listing.stream": "模型输出",
		"listing.back": "返回队列", "listing.changes": "绿色为新增，删除线为去掉的原文", "listing.one_per_line": "每行一个卖点",
		"listing.open": "打开", "listing.shop": "店铺", "listing.status": "状态", "listing.legend": "图例",
		"import.title": "导入商品", "import.shops": "选择店铺", "import.no_shops": "还没有店铺，请先创建。",
		"import.new_shop": "新建店铺", "import.name": "名称", "import.group": "店群", "import.create": "创建店铺",
		"import.products": "商品（每行一个 JSON，或 JSON 数组）", "import.file": "选择文件 (.jsonl / .json)",
		"import.sample": "载入示例商品库", "import.generate": "生成文案", "import.progress": "进度",
		"import.done": "完成", "import.errors": "错误", "import.line": "第", "import.line_suffix": "行",
		"import.pick_shop": "请至少选择一个店铺。", "import.no_products": "没有商品。",
		"nav.jobs": "批量任务", "nav.job": "批量任务", "jobs.title": "批量任务",
		"jobs.hint":  "最近的批量任务，最新的在前。提交任务：POST /v1/jobs 或 listinggen batch。",
		"jobs.empty": "还没有批量任务。", "import.jobs": "整个商品库（JSONL、CSV、XLSX）请作为批量任务提交（POST /v1/jobs），进度、失败条目和结果下载见",
		"col.created": "创建时间", "col.source": "来源", "col.state": "状态", "col.progress": "进度", "col.row": "行",
		"col.product_id": "商品 ID", "col.message": "原因",
		"job.state.running": "运行中", "job.state.paused": "已暂停（预算）", "job.state.cancelled": "已取消",
		"job.state.completed": "已完成", "job.state.estimated": "仅估算",
		"item.queued": "排队中", "item.running": "处理中", "item.done": "完成", "item.failed": "失败", "item.invalid": "无效行",
		"item.skipped": "跳过", "item.paused": "暂停", "item.cancelled": "已取消",
		"job.back": "返回任务列表", "job.rows": "行数", "job.items": "条目", "job.finished": "结束于",
		"job.cancel": "取消任务", "job.retry": "重试失败条目", "job.resume": "继续", "job.review": "审核该任务的商品",
		"job.throughput": "速度", "job.per_second": "条/秒", "job.eta": "预计剩余", "job.tokens": "用量(输入/输出 token)",
		"job.cost": "成本(美元)", "job.estimate": "预估", "job.max_tokens": "token 预算", "job.max_cost": "成本预算(美元)",
		"job.budget_hint": "继续前提高预算，0 表示不限",
		"job.download":    "下载结果", "job.errors": "失败的条目", "job.no_errors": "没有失败的条目。",
		"job.requeued": "已重新排队", "job.cancelled": "已取消", "queue.of_job": "只显示批量任务的商品：", "queue.all_jobs": "显示全部",
		"job.recovered": "从已停止的进程收回的条目", "job.recovered_pending": "尚未完成", "job.recovered_why": "原因",
		"job.recovered_hint": "这些条目会自动重新运行，无需操作。", "recovery.restart": "重启时收回（上次的进程已停止）",
		"recovery.lease_expired": "工作进程已停止（租约过期）", "recovery.rescued": "超过 JOB_RESCUE_AFTER 后重新派发",
		"signin.title": "登录", "signin.key": "API 密钥", "signin.submit": "登录", "signin.failed": "密钥无效或已吊销。",
		"err.blocked": "有阻断性合规问题，不能通过", "err.conflict": "已被他人修改，请刷新", "err.failed": "失败",
		"ok.saved": "已保存", "ok.approved": "已通过", "ok.rejected": "已驳回", "import.sample_unit": "个",
		"images.pending": "未处理", "images.ready": "就绪", "images.partial": "部分失败", "images.failed": "失败", "images.none": "无图片",
		"platform.douyin": "抖店", "platform.taobao": "淘宝", "platform.pinduoduo": "拼多多", "platform.generic": "通用",
		"severity.block": "阻断", "severity.warn": "提醒",
		"scope.shop": "本店", "scope.group": "本店及店群", "scope.tenant": "全部店铺",
		"kind.same_shop": "同一店铺", "kind.same_group": "店群内其他店铺（比文案）", "kind.same_tenant": "同一商家",
		"evidence.text": "标题", "evidence.identifier": "型号", "evidence.number": "数字", "evidence.price": "价格",
		"evidence.specs": "规格与属性", "evidence.category": "类目", "evidence.brand": "品牌", "evidence.image": "图片（感知哈希）",
		"code.invalid": "无效", "code.not_found": "不存在", "code.conflict": "冲突", "code.unauthorized": "未登录",
		"code.forbidden": "被拒绝", "code.too_large": "过大", "code.rate_limited": "请求过多", "code.unavailable": "暂不可用", "code.internal": "内部错误",
		"field.title": "标题", "field.selling_points": "卖点", "field.description": "详情", "field.keywords": "关键词", "field.source.title": "货源标题",
		"field.source.description": "货源详情", "job.source.items": "接口提交", "rewriter.rules": "规则改写（离线）", "rewriter.openai": "大模型",
		"variant.main": "主图", "variant.main_3x4": "3:4 主图", "variant.detail": "详情图", "variant.thumb": "缩略图",
	},
	"en": {
		"app": "listinggen review", "nav.queue": "Review queue", "nav.import": "Import products", "nav.signout": "Sign out",
		"lang.other": "中文", "lang.other.code": "zh",
		"queue.title": "Review queue", "queue.empty": "No listings match.", "queue.next": "Next page", "queue.first": "First page",
		"queue.keys":  "Keys: j/k move, x select, a approve, r reject, e edit, Enter open",
		"filter.shop": "Shop", "filter.platform": "Platform", "filter.status": "Status", "filter.verdict": "Dedup",
		"filter.compliance": "Compliance", "filter.any": "Any", "filter.apply": "Filter", "filter.problems": "Blocking problems",
		"filter.ok": "No blocking problems", "filter.job": "Batch job",
		"col.title": "Title", "col.shop": "Shop", "col.platform": "Platform", "col.status": "Status", "col.verdict": "Dedup",
		"col.compliance": "Compliance", "col.images": "Images", "col.updated": "Updated",
		"bulk.approve": "Approve selected", "bulk.reject": "Reject selected", "bulk.selected": "Selected", "bulk.all": "Select all",
		"status.draft": "Draft", "status.needs_review": "Needs review", "status.approved": "Approved", "status.rejected": "Rejected",
		"verdict.unique": "Unique", "verdict.similar": "Similar", "verdict.duplicate": "Duplicate",
		"compliance.ok": "OK", "compliance.problems": "problems",
		"listing.source": "Source", "listing.generated": "Generated", "listing.title": "Title",
		"listing.selling_points": "Selling points", "listing.description": "Description", "listing.keywords": "Keywords",
		"listing.attributes": "Attributes", "listing.category": "Category", "listing.price": "Price", "listing.brand": "Brand",
		"listing.violations": "Compliance problems", "listing.no_violations": "No compliance problems.", "listing.rule": "Rule",
		"listing.suggestion": "Suggestion", "listing.term": "Term", "listing.field": "Field", "listing.severity": "Severity",
		"listing.repaired": "Repaired automatically", "listing.reasons": "Why it needs review", "listing.images": "Images",
		"listing.image_errors": "Image errors", "listing.variant": "Variant", "listing.size": "Size", "listing.bytes": "Bytes",
		"listing.dedup": "Duplicates", "listing.matches": "Similar listings", "listing.score": "Score", "listing.text_score": "Text score", "listing.kind": "Evidence",
		"listing.scope": "Scope", "listing.no_matches": "No similar listings.", "listing.provenance": "Provenance",
		"listing.rewriter": "Rewriter", "listing.model": "Model", "listing.prompt": "Prompt version", "listing.tokens": "Tokens (prompt/completion)",
		"listing.cost": "Cost (USD)", "listing.embedder": "Embedder", "listing.edited_by": "Edited by", "listing.version": "Version",
		"listing.edit": "Edit (e)", "listing.save": "Save", "listing.cancel": "Cancel", "listing.approve": "Approve (a)",
		"listing.reject": "Reject (r)", "listing.regenerate": "Regenerate", "listing.units": "Length", "listing.limit": "limit",
		"listing.checking": "Checking…", "listing.checked": "Checked live", "listing.stream": "Model output",
		"listing.back": "Back to queue", "listing.changes": "green: added; struck through: dropped from the source", "listing.one_per_line": "one selling point per line",
		"listing.open": "Open", "listing.shop": "Shop", "listing.status": "Status", "listing.legend": "Legend",
		"import.title": "Import products", "import.shops": "Shops", "import.no_shops": "No shops yet: create one first.",
		"import.new_shop": "New shop", "import.name": "Name", "import.group": "Shop group", "import.create": "Create shop",
		"import.products": "Products (one JSON object a line, or a JSON array)", "import.file": "Choose a file (.jsonl / .json)",
		"import.sample": "Load the sample catalogue", "import.generate": "Generate", "import.progress": "Progress",
		"import.done": "Done", "import.errors": "Errors", "import.line": "line", "import.line_suffix": "",
		"import.pick_shop": "Choose at least one shop.", "import.no_products": "No products.",
		"nav.jobs": "Batch jobs", "nav.job": "Batch job", "jobs.title": "Batch jobs",
		"jobs.hint":  "Recent batch jobs, newest first. Submit one with POST /v1/jobs or listinggen batch.",
		"jobs.empty": "No batch jobs yet.", "import.jobs": "Submit a whole catalogue (JSONL, CSV, XLSX) as a batch job (POST /v1/jobs); follow its progress, failed items and results in",
		"col.created": "Created", "col.source": "Source", "col.state": "State", "col.progress": "Progress", "col.row": "Row",
		"col.product_id": "Product id", "col.message": "Reason",
		"job.state.running": "Running", "job.state.paused": "Paused (budget)", "job.state.cancelled": "Cancelled",
		"job.state.completed": "Completed", "job.state.estimated": "Estimate only",
		"item.queued": "Queued", "item.running": "Running", "item.done": "Done", "item.failed": "Failed", "item.invalid": "Invalid row",
		"item.skipped": "Skipped", "item.paused": "Paused", "item.cancelled": "Cancelled",
		"job.back": "Back to jobs", "job.rows": "Rows", "job.items": "Items", "job.finished": "finished",
		"job.cancel": "Cancel job", "job.retry": "Retry failed items", "job.resume": "Resume", "job.review": "Review this job's listings",
		"job.throughput": "Throughput", "job.per_second": "items/s", "job.eta": "ETA", "job.tokens": "Tokens (prompt/completion)",
		"job.cost": "Cost (USD)", "job.estimate": "Estimate", "job.max_tokens": "Token budget", "job.max_cost": "Cost budget (USD)",
		"job.budget_hint": "raise the budget to resume; 0 means none",
		"job.download":    "Download results", "job.errors": "Failed items", "job.no_errors": "No failed items.",
		"job.requeued": "Queued again", "job.cancelled": "Cancelled", "queue.of_job": "Showing the listings of the batch job", "queue.all_jobs": "show all",
		"job.recovered": "Items taken back from a stopped worker", "job.recovered_pending": "not finished yet", "job.recovered_why": "why",
		"job.recovered_hint": "They run again by themselves; nothing to do.", "recovery.restart": "at restart (the previous process had stopped)",
		"recovery.lease_expired": "its worker stopped (lease expired)", "recovery.rescued": "delivered again after JOB_RESCUE_AFTER",
		"signin.title": "Sign in", "signin.key": "API key", "signin.submit": "Sign in", "signin.failed": "Unknown or revoked key.",
		"err.blocked": "breaks a blocking rule: cannot approve", "err.conflict": "changed by someone else: reload", "err.failed": "failed",
		"ok.saved": "Saved", "ok.approved": "Approved", "ok.rejected": "Rejected", "import.sample_unit": "products",
		"images.pending": "Not processed", "images.ready": "Ready", "images.partial": "Partly failed", "images.failed": "Failed", "images.none": "No images",
		"platform.douyin": "Douyin", "platform.taobao": "Taobao", "platform.pinduoduo": "Pinduoduo", "platform.generic": "Generic",
		"severity.block": "Blocking", "severity.warn": "Warning",
		"scope.shop": "This shop", "scope.group": "This shop and its group", "scope.tenant": "All shops",
		"kind.same_shop": "Same shop", "kind.same_group": "Another shop of the group (copy)", "kind.same_tenant": "Same seller",
		"evidence.text": "Titles", "evidence.identifier": "Model numbers", "evidence.number": "Numbers", "evidence.price": "Prices",
		"evidence.specs": "Specifications and attributes", "evidence.category": "Categories", "evidence.brand": "Brands",
		"evidence.image": "Images (perceptual hash)",
		"code.invalid":   "Invalid", "code.not_found": "Not found", "code.conflict": "Conflict", "code.unauthorized": "Not signed in",
		"code.forbidden": "Refused", "code.too_large": "Too large", "code.rate_limited": "Too many requests", "code.unavailable": "Unavailable", "code.internal": "Internal error",
		"field.title": "Title", "field.selling_points": "Selling point", "field.description": "Description", "field.keywords": "Keyword",
		"field.source.title": "Source title", "field.source.description": "Source description",
		"job.source.items": "Sent to the API", "rewriter.rules": "Rules (offline)", "rewriter.openai": "Language model",
		"variant.main": "Main", "variant.main_3x4": "Main 3:4", "variant.detail": "Detail", "variant.thumb": "Thumbnail",
	},
}

// translate looks key up in lang, then in Chinese.
func translate(lang, key string) string {
	if s, ok := messages[lang][key]; ok {
		return s
	}
	if s, ok := messages["zh"][key]; ok {
		return s
	}
	return key
}

// label is the word for a value of one of the API's enumerations (a
// status, a verdict, an error code …), whose messages are keyed
// "group.value": the API's values are English identifiers, which a page
// must not show as they are.
func label(lang, group string, value any) string {
	return translate(lang, group+"."+fmt.Sprint(value))
}

// fieldIndex matches a field with an index, such as selling_points[2].
var fieldIndex = regexp.MustCompile(`^([a-z_.]+)\[(\d+)\]$`)

// fieldLabel names a copy field as the API reports it (title,
// selling_points[2], source.description): indexed fields count from one,
// as people do. listing.js names fields the same way.
func fieldLabel(lang, field string) string {
	if m := fieldIndex.FindStringSubmatch(field); m != nil {
		n, _ := strconv.Atoi(m[2])
		return fmt.Sprintf("%s %d", label(lang, "field", m[1]), n+1)
	}
	return label(lang, "field", field)
}

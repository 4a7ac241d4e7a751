package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/listinggen/listinggen"
)

// Recall sizes. 10k listings is where an approximate index starts to
// matter while still fitting the suite's time budget; K is the dedup
// step's top 10.
const (
	recallListings  = 10_000
	recallK         = 10
	recallMin       = 0.95
	recallBigShop   = 4_000 // one big shop, as in a seller's flagship store
	recallSmallShop = 500   // and a dozen ordinary ones
	recallWorkers   = 4     // concurrent CreateListing calls
	recallQueries   = 4     // concurrent SimilarListings calls
	// A returned hit whose exact score is at least the K-th exact score
	// minus this counts, so that a tie at the boundary is a hit whichever
	// of the tied listings the store returns.
	recallTieSlack = 1e-6
)

// Recall checks SimilarListings against an exact scan done in Go over
// 10,000 listings whose vectors embed realistic Chinese listing titles, for
// queries scoped to the tenant, a big shop, small shops and shop groups.
// Recall@10 must be at least 0.95 in every scope, and every query must
// return min(K, rows in scope) rows. Run calls it; a backend may also call
// it on a store configured differently (for example to force its index).
func Recall(t *testing.T, s listinggen.Store) {
	if testing.Short() {
		t.Skip("recall: inserts 10,000 listings; runs without -short")
	}
	const tenant = "recall"
	type shopInfo struct {
		id, group string
		size      int
	}
	// Shop 0 is the big one. Groups mix the big shop with small ones and
	// small ones with each other; the rest are in no group.
	var shops []shopInfo
	groups := []string{"g-big", "g-big", "g-big", "g-small", "g-small", "g-small", "g-small"}
	for i := 0; i <= (recallListings-recallBigShop)/recallSmallShop; i++ {
		size := recallSmallShop
		if i == 0 {
			size = recallBigShop
		}
		group := ""
		if i < len(groups) {
			group = groups[i]
		}
		sh := mustShop(t, s, tenant, fmt.Sprintf("店铺%02d", i), group)
		shops = append(shops, shopInfo{id: sh.ID, group: group, size: size})
	}

	gen := newTitleGen(20240601)
	type item struct {
		shop   string
		title  string
		vector []float32
		id     string
	}
	items := make([]item, 0, recallListings)
	for _, sh := range shops {
		for j := 0; j < sh.size; j++ {
			title := gen.title()
			items = append(items, item{shop: sh.id, title: title, vector: embedder.Vector(title)})
		}
	}
	// Interleave shops so that no shop's rows sit together on disk or in
	// the index build order.
	gen.rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })

	// The Store interface has no batch insert, so listings go in one call
	// each, from a few goroutines: PostgreSQL overlaps their commits (the
	// cost of each is mostly HNSW maintenance), SQLite queues them on its
	// single writer.
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, recallWorkers)
	next := make(chan int)
	for w := 0; w < recallWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				l := newListing(tenant, items[i].shop, fmt.Sprintf("r%05d", i), items[i].title)
				l.Embedding = items[i].vector
				if created, err := s.CreateListing(ctx, l); err != nil || !created {
					errs <- fmt.Errorf("CreateListing %d: created=%v, %v", i, created, err)
					return
				}
				items[i].id = l.ID
			}
		}()
	}
feed:
	for i := range items {
		select {
		case next <- i:
		case err := <-errs:
			t.Error(err)
			break feed
		}
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("inserted %d listings in %d shops in %v", len(items), len(shops), time.Since(start).Round(time.Millisecond))

	byID := make(map[string]*item, len(items))
	for i := range items {
		byID[items[i].id] = &items[i]
	}
	inShop := func(shop string) func(*item) bool { return func(it *item) bool { return it.shop == shop } }
	inGroup := func(group string) func(*item) bool {
		members := map[string]bool{}
		for _, sh := range shops {
			if sh.group == group {
				members[sh.id] = true
			}
		}
		return func(it *item) bool { return members[it.shop] }
	}
	everywhere := func(*item) bool { return true }

	type query struct {
		kind string
		q    listinggen.SimilarQuery
		in   func(*item) bool
	}
	var queries []query
	add := func(kind string, q listinggen.SimilarQuery, in func(*item) bool, i int) {
		// Every other query is dedup's own question: an existing listing's
		// vector, excluding itself; the rest are fresh titles.
		if i%2 == 0 {
			q.Vector = embedder.Vector(gen.title())
		} else {
			var pick *item
			for pick == nil || !in(pick) {
				pick = &items[gen.rng.IntN(len(items))]
			}
			q.Vector, q.ExcludeID = pick.vector, pick.id
		}
		q.Model, q.K = embedder.Model(), recallK
		queries = append(queries, query{kind, q, in})
	}
	for i := 0; i < 40; i++ {
		add("tenant", listinggen.SimilarQuery{}, everywhere, i)
	}
	for i := 0; i < 25; i++ {
		add("big shop", listinggen.SimilarQuery{ShopID: shops[0].id}, inShop(shops[0].id), i)
	}
	for i := 0; i < 25; i++ {
		sh := shops[1+i%(len(shops)-1)]
		add("small shop", listinggen.SimilarQuery{ShopID: sh.id}, inShop(sh.id), i)
	}
	for i := 0; i < 10; i++ {
		g := []string{"g-big", "g-small"}[i%2]
		add("group", listinggen.SimilarQuery{Group: g}, inGroup(g), i)
	}

	type tally struct {
		hits, want int
		elapsed    time.Duration
		queries    int
	}
	tallies := map[string]*tally{}
	kinds := []string{"tenant", "big shop", "small shop", "group"}
	for _, k := range kinds {
		tallies[k] = &tally{}
	}
	// Queries run concurrently, as dedup checks do in a batch job, and
	// because an exact in-process scan under -race is slow. Each worker
	// also computes its query's exact answer from the vectors the suite
	// wrote.
	type answer struct {
		exact   []float64 // every in-scope score, best first
		got     []listinggen.SimilarListing
		err     error
		elapsed time.Duration
	}
	answers := make([]answer, len(queries))
	var qwg sync.WaitGroup
	nextQuery := make(chan int)
	for w := 0; w < recallQueries; w++ {
		qwg.Add(1)
		go func() {
			defer qwg.Done()
			for qi := range nextQuery {
				qq, a := &queries[qi], &answers[qi]
				for i := range items {
					if it := &items[i]; qq.in(it) && it.id != qq.q.ExcludeID {
						a.exact = append(a.exact, listinggen.Cosine(qq.q.Vector, it.vector))
					}
				}
				sort.Sort(sort.Reverse(sort.Float64Slice(a.exact)))
				began := time.Now()
				a.got, a.err = s.SimilarListings(ctx, tenant, qq.q)
				a.elapsed = time.Since(began)
			}
		}()
	}
	start = time.Now()
	for qi := range queries {
		nextQuery <- qi
	}
	close(nextQuery)
	qwg.Wait()
	queriesTook := time.Since(start)

	for qi, qq := range queries {
		exact, got := answers[qi].exact, answers[qi].got
		if err := answers[qi].err; err != nil {
			t.Fatalf("query %d (%s): %v", qi, qq.kind, err)
		}
		want := min(recallK, len(exact))
		kth := exact[want-1]
		if len(got) != want {
			t.Errorf("query %d (%s): %d hits, want %d (the scope has %d rows)", qi, qq.kind, len(got), want, len(exact))
		}
		hits := 0
		seen := map[string]bool{}
		for j, h := range got {
			it := byID[h.ListingID]
			switch {
			case it == nil:
				t.Errorf("query %d (%s): unknown listing %q", qi, qq.kind, h.ListingID)
				continue
			case !qq.in(it) || h.ListingID == qq.q.ExcludeID:
				t.Errorf("query %d (%s): listing %s (shop %s) is out of scope or excluded", qi, qq.kind, h.ListingID, it.shop)
				continue
			case seen[h.ListingID]:
				t.Errorf("query %d (%s): listing %s returned twice", qi, qq.kind, h.ListingID)
				continue
			case h.ShopID != it.shop:
				t.Errorf("query %d (%s): listing %s reported in shop %s, stored in %s", qi, qq.kind, h.ListingID, h.ShopID, it.shop)
			}
			seen[h.ListingID] = true
			score := listinggen.Cosine(qq.q.Vector, it.vector)
			if d := h.Score - score; d > 1e-4 || d < -1e-4 {
				t.Errorf("query %d (%s): listing %s score %.6f, exact %.6f", qi, qq.kind, h.ListingID, h.Score, score)
			}
			if j > 0 && h.Score > got[j-1].Score+recallTieSlack {
				t.Errorf("query %d (%s): hits not in descending score order at %d: %v", qi, qq.kind, j, got)
			}
			if score >= kth-recallTieSlack {
				hits++
			}
		}
		tl := tallies[qq.kind]
		tl.hits += min(hits, want)
		tl.want += want
		tl.elapsed += answers[qi].elapsed
		tl.queries++
	}
	var all tally
	var report []string
	for _, k := range kinds {
		tl := tallies[k]
		all.hits, all.want = all.hits+tl.hits, all.want+tl.want
		r := float64(tl.hits) / float64(tl.want)
		report = append(report, fmt.Sprintf("%s %.3f (%d queries, mean %v)", k, r, tl.queries, (tl.elapsed/time.Duration(tl.queries)).Round(time.Microsecond)))
		if r < recallMin {
			t.Errorf("recall@%d for %s queries = %.3f, want ≥ %.2f", recallK, k, r, recallMin)
		}
	}
	t.Logf("recall@%d overall %.3f; %s; %d queries, %d at a time, in %v", recallK, float64(all.hits)/float64(all.want),
		strings.Join(report, "; "), len(queries), recallQueries, queriesTook.Round(time.Millisecond))
}

// titleGen writes Chinese e-commerce titles in the style suppliers publish
// on 1688: a category's core word among shuffled attribute and scenario
// words, often a season or "new" prefix, sometimes supplier jargon or an
// emoji, with or without spaces. Titles of one category share most of their
// words, so the set has the near-duplicates dedup exists for. It is seeded
// and deterministic: the same seed gives the same titles on every run.
type titleGen struct {
	rng *rand.Rand
}

// Titles returns n titles from the suite's generator, for a backend's own
// tests and benchmarks that need realistic listing text.
func Titles(seed uint64, n int) []string {
	g := newTitleGen(seed)
	out := make([]string, n)
	for i := range out {
		out[i] = g.title()
	}
	return out
}

func newTitleGen(seed uint64) *titleGen {
	return &titleGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

type titleCategory struct {
	core   []string // the product word and its synonyms
	attrs  []string // materials, features, sizes, styles
	scenes []string // who and where
}

var titleCategories = []titleCategory{
	{[]string{"连衣裙", "长裙", "碎花裙"}, []string{"法式", "复古", "碎花", "收腰", "显瘦", "气质", "雪纺", "泡泡袖", "V领", "方领", "中长款", "高腰", "小个子", "茶歇裙"}, []string{"女", "夏季", "度假", "通勤", "约会"}},
	{[]string{"T恤", "短袖", "打底衫"}, []string{"纯棉", "宽松", "印花", "圆领", "百搭", "韩版", "ins", "oversize", "落肩", "重磅", "字母", "半袖"}, []string{"女", "男", "学生", "情侣", "上衣"}},
	{[]string{"POLO衫", "翻领T恤"}, []string{"冰丝", "透气", "翻领", "商务", "休闲", "短袖", "凉感", "速干", "刺绣", "条纹", "抗皱", "纯色"}, []string{"中年", "爸爸装", "男士", "高尔夫", "工装"}},
	{[]string{"运动鞋", "跑步鞋", "老爹鞋"}, []string{"减震", "透气", "网面", "轻便", "软底", "防滑", "增高", "耐磨", "飞织", "气垫", "厚底", "休闲鞋"}, []string{"男款", "女款", "学生", "健身", "户外"}},
	{[]string{"保温杯", "水杯", "泡茶杯"}, []string{"316不锈钢", "大容量", "茶水分离", "智能测温", "便携", "高颜值", "真空", "保冷", "弹盖", "吸管", "500ml", "1000ml"}, []string{"男女", "学生", "车载", "办公室", "户外"}},
	{[]string{"蓝牙耳机", "无线耳机"}, []string{"降噪", "入耳式", "超长续航", "ENC通话降噪", "半入耳", "运动", "游戏", "低延迟", "HIFI音质", "触控", "挂耳式", "骨传导"}, []string{"适用苹果", "华为", "安卓通用", "跑步", "通勤"}},
	{[]string{"手机壳", "保护套"}, []string{"液态", "硅胶", "磁吸", "透明", "防摔", "全包", "镜头全包", "磨砂", "软壳", "气囊", "卡通", "简约"}, []string{"iPhone15ProMax", "适用苹果15", "情侣", "华为Mate60", "小米14"}},
	{[]string{"数据线", "充电线", "快充线"}, []string{"6A", "编织", "1米", "2米", "快充", "Type-C", "闪充", "弯头", "加长", "120W", "尼龙", "数显"}, []string{"适用苹果", "安卓", "车载", "华为", "三合一"}},
	{[]string{"化妆刷", "眼影刷", "散粉刷"}, []string{"套装", "不吃粉", "全套", "软毛", "纤维毛", "便携", "腮红刷", "粉底刷", "遮瑕刷", "修容", "8支", "14支"}, []string{"新手", "初学者", "专业", "化妆师", "旅行"}},
	{[]string{"积木", "拼装玩具"}, []string{"大颗粒", "益智", "拼插", "兼容乐高", "机械组", "城市", "小颗粒", "动物", "汽车", "城堡", "收纳盒装", "图纸"}, []string{"儿童", "男孩", "女孩", "3-6岁", "礼物"}},
	{[]string{"收纳盒", "整理箱", "储物箱"}, []string{"透明", "大号", "多层", "抽屉式", "塑料", "可叠加", "带盖", "桌面", "化妆品", "中号", "亚克力", "PP"}, []string{"宿舍", "家用", "衣柜", "办公室", "学生"}},
	{[]string{"四件套", "床上用品"}, []string{"纯棉", "全棉", "被套", "床单", "水洗棉", "磨毛", "简约", "ins风", "1.5m", "1.8m", "天丝", "公主风"}, []string{"宿舍", "家用", "婚庆", "儿童", "秋冬"}},
	{[]string{"猫抓板", "猫窝"}, []string{"瓦楞纸", "立式", "不掉屑", "磨爪", "耐磨", "一体", "剑麻", "大号", "沙发", "圆形", "猫玩具", "替换芯"}, []string{"猫咪", "幼猫", "宠物", "多猫家庭", "室内"}},
	{[]string{"折叠椅", "月亮椅", "钓鱼椅"}, []string{"超轻", "靠背", "便携", "铝合金", "承重", "牛津布", "收纳", "可调节", "加厚", "大号", "沙滩椅", "导演椅"}, []string{"露营", "户外", "野餐", "钓鱼", "阳台"}},
	{[]string{"硅胶铲", "锅铲", "炒菜铲"}, []string{"食品级", "耐高温", "不粘锅", "一体", "家用", "厨具套装", "防烫", "加厚", "木柄", "专用", "软头", "无毒"}, []string{"厨房", "家庭", "烘焙", "炒菜", "新婚"}},
	{[]string{"耳环", "耳钉", "耳坠"}, []string{"珍珠", "流苏", "小众设计", "高级感", "防过敏", "925银针", "复古", "气质", "长款", "法式", "锆石", "几何"}, []string{"女", "夏季", "约会", "通勤", "礼物"}},
	{[]string{"双肩包", "背包", "书包"}, []string{"大容量", "防水", "轻便", "尼龙", "电脑包", "减负", "护脊", "USB充电", "多隔层", "简约", "帆布", "商务"}, []string{"学生", "初中生", "男女", "旅行", "通勤"}},
	{[]string{"台灯", "护眼灯", "床头灯"}, []string{"LED", "护眼", "充电", "触摸", "三档调光", "无频闪", "国AA级", "折叠", "夹子", "USB", "阅读", "暖光"}, []string{"学生", "宿舍", "卧室", "书桌", "儿童"}},
	{[]string{"瑜伽垫", "健身垫"}, []string{"加厚", "防滑", "TPE", "加宽", "加长", "NBR", "双面", "体位线", "静音", "回弹", "6mm", "10mm"}, []string{"女", "初学者", "家用", "健身房", "地垫"}},
	{[]string{"雨伞", "晴雨伞", "遮阳伞"}, []string{"折叠", "自动", "防晒", "防紫外线", "黑胶", "三折", "加大", "加固", "胶囊伞", "反向", "超轻", "便携"}, []string{"女", "男", "学生", "晴雨两用", "出行"}},
	{[]string{"拖鞋", "凉拖"}, []string{"EVA", "防滑", "软底", "厚底", "踩屎感", "静音", "速干", "一字拖", "居家", "浴室", "耐磨", "卡通"}, []string{"女", "男", "夏季", "情侣", "室内"}},
	{[]string{"电动牙刷", "声波牙刷"}, []string{"充电式", "软毛", "声波", "防水", "自动", "美白", "5档", "替换刷头", "长续航", "智能", "磁悬浮", "感应"}, []string{"成人", "情侣", "学生", "男女", "礼物"}},
	{[]string{"面膜", "补水面膜"}, []string{"补水", "保湿", "玻尿酸", "提亮", "修护", "收缩毛孔", "蚕丝", "清洁", "熬夜", "舒缓", "20片", "涂抹式"}, []string{"女", "男士", "学生", "敏感肌", "干皮"}},
	{[]string{"充电宝", "移动电源"}, []string{"20000毫安", "快充", "超薄", "小巧", "大容量", "自带线", "磁吸", "无线", "22.5W", "PD", "便携", "数显"}, []string{"适用苹果", "华为", "出行", "户外", "学生"}},
}

var (
	titlePrefixes = []string{"2024新款", "2025新款", "热卖", "网红同款", "爆款", "夏季", "秋冬", "春秋", "ins风", "跨境"}
	titleJargon   = []string{"厂家直销", "一件代发", "工厂价", "现货速发", "跨境专供", "支持定制", "源头工厂", "批发", "量大从优"}
	titleEmoji    = []string{"🔥", "💕", "✨", "🎁"}
)

func (g *titleGen) pick(words []string) string { return words[g.rng.IntN(len(words))] }

func (g *titleGen) title() string {
	c := &titleCategories[g.rng.IntN(len(titleCategories))]
	pool := append(slices.Clone(c.attrs), c.scenes...)
	g.rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	words := pool[:3+g.rng.IntN(5)]
	// The core word usually closes the title, as buyers search for it last.
	core := g.pick(c.core)
	if g.rng.IntN(3) == 0 {
		at := g.rng.IntN(len(words) + 1)
		words = slices.Insert(words, at, core)
	} else {
		words = append(words, core)
	}
	if g.rng.IntN(2) == 0 {
		words = slices.Insert(words, 0, g.pick(titlePrefixes))
	}
	if g.rng.IntN(5) < 2 {
		words = append(words, g.pick(titleJargon))
	}
	if g.rng.IntN(7) == 0 {
		words = append(words, g.pick(titleEmoji))
	}
	sep := ""
	if g.rng.IntN(3) == 0 {
		sep = " "
	}
	return strings.Join(words, sep)
}

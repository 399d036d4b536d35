package oktasim

// The tables below are read-only lookup data for generation.

// name pairs a display spelling with the ASCII form used in logins.
type name struct {
	display string
	ascii   string
}

// firstNames mixes common English names with accented, non-Latin and
// multi-part ones so consumers exercise Unicode handling.
var firstNames = [...]name{
	{"Ana", "ana"}, {"José", "jose"}, {"Zoë", "zoe"}, {"Łukasz", "lukasz"},
	{"Søren", "soren"}, {"Björk", "bjork"}, {"Wei", "wei"}, {"Hiroshi", "hiroshi"},
	{"Priya", "priya"}, {"Oluwaseun", "oluwaseun"}, {"Siobhán", "siobhan"},
	{"François", "francois"}, {"Mohammed", "mohammed"}, {"Aisha", "aisha"},
	{"Chloé", "chloe"}, {"Jürgen", "jurgen"}, {"Mei", "mei"}, {"Raj", "raj"},
	{"Ingrid", "ingrid"}, {"Liam", "liam"}, {"Olivia", "olivia"}, {"Noah", "noah"},
	{"Emma", "emma"}, {"Mateo", "mateo"}, {"Sofía", "sofia"}, {"Dmitri", "dmitri"},
	{"Yuki", "yuki"}, {"太郎", "taro"}, {"美咲", "misaki"}, {"Ève", "eve"},
	{"Ngozi", "ngozi"}, {"Kwame", "kwame"}, {"Fatima", "fatima"}, {"Omar", "omar"},
	{"Lars", "lars"}, {"Astrid", "astrid"}, {"Ciarán", "ciaran"}, {"Renée", "renee"},
	{"Þóra", "thora"}, {"Øyvind", "oyvind"}, {"İlker", "ilker"}, {"Zoltán", "zoltan"},
	{"Małgorzata", "malgorzata"}, {"Jean-Luc", "jean-luc"}, {"Mary Ann", "maryann"},
	{"D'Arcy", "darcy"}, {"Robert", "robert"}, {"William", "william"},
	{"Alexander", "alexander"}, {"Katherine", "katherine"}, {"Elizabeth", "elizabeth"},
	{"Margaret", "margaret"}, {"Jonathan", "jonathan"}, {"Samantha", "samantha"},
	{"Ahmed", "ahmed"}, {"Chen", "chen"}, {"Min-jun", "min-jun"}, {"Thandiwe", "thandiwe"},
	{"Isabel", "isabel"}, {"Lucas", "lucas"}, {"Amara", "amara"}, {"Kai", "kai"},
}

// nickname gives the short form of some first names ("" if none);
// displayName sometimes uses it, and nickName carries it.
func nickname(first string) string {
	switch first {
	case "Robert":
		return "Bob"
	case "William":
		return "Bill"
	case "Alexander":
		return "Alex"
	case "Katherine":
		return "Kate"
	case "Elizabeth":
		return "Liz"
	case "Margaret":
		return "Maggie"
	case "Jonathan":
		return "Jon"
	case "Samantha":
		return "Sam"
	case "Oluwaseun":
		return "Seun"
	case "Małgorzata":
		return "Gosia"
	case "Dmitri":
		return "Dima"
	}
	return ""
}

var lastNames = [...]name{
	{"Lopez", "lopez"}, {"Müller", "muller"}, {"O'Brien", "obrien"}, {"Ng", "ng"},
	{"李", "li"}, {"山田", "yamada"}, {"Ñúñez", "nunez"}, {"Smith", "smith"},
	{"Johnson", "johnson"}, {"García", "garcia"}, {"Kowalski", "kowalski"},
	{"Nielsen", "nielsen"}, {"Guðmundsdóttir", "gudmundsdottir"}, {"Nguyễn", "nguyen"},
	{"Patel", "patel"}, {"Okafor", "okafor"}, {"Dubois", "dubois"}, {"Schröder", "schroder"},
	{"Rossi", "rossi"}, {"Tanaka", "tanaka"}, {"Kim", "kim"}, {"Chen", "chen"},
	{"van der Berg", "vanderberg"}, {"de la Cruz", "delacruz"}, {"Smith-Jones", "smith-jones"},
	{"Øster", "oster"}, {"Ålund", "alund"}, {"Çelik", "celik"}, {"Şahin", "sahin"},
	{"Wójcik", "wojcik"}, {"Andersson", "andersson"}, {"Haddad", "haddad"},
	{"Cohen", "cohen"}, {"Ivanov", "ivanov"}, {"Popescu", "popescu"}, {"Singh", "singh"},
	{"Kaur", "kaur"}, {"Mbeki", "mbeki"}, {"Hernández", "hernandez"}, {"Brown", "brown"},
	{"Williams", "williams"}, {"Jones", "jones"}, {"MacLeod", "macleod"}, {"Yilmaz", "yilmaz"},
	{"Sato", "sato"}, {"Park", "park"}, {"Costa", "costa"}, {"Ferreira", "ferreira"},
}

// department describes one department of the generated org.
type department struct {
	name       string
	weight     int // relative size when a department is picked at random
	division   string
	costCenter string
	titles     []string // individual-contributor titles
	mgrTitle   string   // title of the department's managers
}

var departments = [...]department{
	{"Engineering", 30, "Technology", "CC-1100", []string{"Software Engineer", "Site Reliability Engineer", "QA Engineer", "Platform Engineer"}, "Engineering Manager"},
	{"Product", 6, "Technology", "CC-1200", []string{"Product Manager", "Technical Program Manager"}, "Director of Product"},
	{"Design", 4, "Technology", "CC-1300", []string{"Product Designer", "UX Researcher", "Content Designer"}, "Design Manager"},
	{"Data Science", 5, "Technology", "CC-1400", []string{"Data Scientist", "Data Engineer", "Analytics Engineer"}, "Data Science Manager"},
	{"Security", 3, "Technology", "CC-1500", []string{"Security Engineer", "Security Analyst"}, "Head of Security"},
	{"IT", 4, "Technology", "CC-1600", []string{"IT Support Specialist", "Systems Administrator"}, "IT Manager"},
	{"Sales", 12, "Go-To-Market", "CC-2100", []string{"Account Executive", "Sales Development Representative", "Sales Engineer"}, "Sales Director"},
	{"Marketing", 6, "Go-To-Market", "CC-2200", []string{"Marketing Manager", "Content Strategist", "Growth Analyst"}, "Head of Marketing"},
	{"Customer Success", 6, "Go-To-Market", "CC-2300", []string{"Customer Success Manager", "Implementation Consultant"}, "Customer Success Lead"},
	{"Support", 8, "Go-To-Market", "CC-2400", []string{"Support Engineer", "Support Specialist"}, "Support Manager"},
	{"Finance", 4, "G&A", "CC-3100", []string{"Financial Analyst", "Accountant", "Payroll Specialist"}, "Controller"},
	{"Legal", 2, "G&A", "CC-3200", []string{"Counsel", "Paralegal", "Privacy Analyst"}, "General Counsel"},
	{"People", 4, "G&A", "CC-3300", []string{"Recruiter", "HR Business Partner", "People Operations Specialist"}, "Head of People"},
	{"Operations", 4, "G&A", "CC-3400", []string{"Operations Analyst", "Procurement Specialist"}, "Operations Manager"},
	{"Facilities", 2, "G&A", "CC-3500", []string{"Workplace Coordinator", "Facilities Technician"}, "Facilities Manager"},
}

// executive is the department of the roots of the manager tree.
var executive = department{"Executive", 0, "Office of the CEO", "CC-0100", nil, ""}

var rootTitles = [...]string{"Chief Executive Officer", "Chief Technology Officer", "Chief Operating Officer"}

var seniority = [...]string{"", "", "", "Senior ", "Senior ", "Staff ", "Principal ", "Associate "}

// location is a place users work from, with matching locale data.
type location struct {
	city, country, timezone, locale, org, phonePrefix string
}

var locations = [...]location{
	{"San Francisco", "US", "America/Los_Angeles", "en_US", "Example Corp", "+1 415"},
	{"New York", "US", "America/New_York", "en_US", "Example Corp", "+1 212"},
	{"Austin", "US", "America/Chicago", "en_US", "Example Corp", "+1 512"},
	{"Toronto", "CA", "America/Toronto", "en_CA", "Example Corp Canada", "+1 416"},
	{"London", "GB", "Europe/London", "en_GB", "Example Corp UK Ltd", "+44 20"},
	{"Berlin", "DE", "Europe/Berlin", "de_DE", "Example Labs GmbH", "+49 30"},
	{"Kraków", "PL", "Europe/Warsaw", "pl_PL", "Example Labs GmbH", "+48 12"},
	{"Copenhagen", "DK", "Europe/Copenhagen", "da_DK", "Example Labs GmbH", "+45 33"},
	{"Madrid", "ES", "Europe/Madrid", "es_ES", "Example Labs GmbH", "+34 91"},
	{"Tokyo", "JP", "Asia/Tokyo", "ja_JP", "Example KK", "+81 3"},
	{"Singapore", "SG", "Asia/Singapore", "en_SG", "Example Asia Pte Ltd", "+65 6"},
	{"Bengaluru", "IN", "Asia/Kolkata", "en_IN", "Example India Pvt Ltd", "+91 80"},
	{"Lagos", "NG", "Africa/Lagos", "en_NG", "Example Corp", "+234 1"},
	{"São Paulo", "BR", "America/Sao_Paulo", "pt_BR", "Example Brasil Ltda", "+55 11"},
}

var recoveryQuestions = [...]string{
	"What is the food you least liked as a child?",
	"Who's a cartoon character you loved as a kid?",
	"What was the name of your first stuffed animal?",
	"What is the name of your favorite childhood friend?",
}

// userTypeID returns the id ("oty" + 17 chars) of a user type.
func userTypeID(userType string) string {
	switch userType {
	case "Contractor":
		return "oty1c0ntract0rSim1d7"
	case "Intern":
		return "oty1intern0000Sim1d7"
	}
	return "oty1emp0yee5imUse7d7"
}
